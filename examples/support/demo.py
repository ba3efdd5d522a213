"""Run the support agent's suite end to end.

Offline (the default), the model is the scripted fake LLM serving fake_llm.yaml on 127.0.0.1:
replies come from that script, not from a real model. With COSTAR_MODEL set (and the
provider's key, or COSTAR_LLM_BASE_URL for a local server), the same suite runs against that
real model. Then the project's judges score the run (`costar assess --last`) and print its
report (`costar report`, also written to .costar/report.html), the conversation of the
scenario whose customer an LLM plays (refund-simulated-customer), and the best-practices
judge's verdicts with the passage of the house style guide (docs/) each one cites. It runs
and judges the suite once more and writes the suite's history (`costar report --history 10`,
also as .costar/history.html). Offline, it then shows the
judge loop: a stand-in expert's labels are imported into the golden set, the LLM judge's
agreement with them is measured, and the next traces worth labelling are listed. Then `costar
explain --verify` names the step that made refund-outside-window fail and confirms it by a
corrected replay. It ends with the
agent loop: `costar refine` with a scripted stand-in for a coding assistant
(assistant/fix_refunds.py) fixes the refund scenarios the judges caught, on a branch of a copy
of this example (.costar/refine-demo, its own git repository), and prints the reviewer's report.
Last, production traffic (production_requests.txt) is measured against the suite: `costar
coverage` ends the demo with the share covered and the largest gaps.
Extra arguments go to `costar run` (default: --trials 2).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from costar.llm import FakeLLM

HERE = Path(__file__).parent
COSTAR = str(Path(sys.executable).parent / "costar")
ASSESS = [COSTAR, "assess", "--last"]  # then score the traces just recorded
REPORT = [COSTAR, "report", "--html", ".costar/report.html"]  # and report on the newest run


def main() -> int:
    args = sys.argv[1:] or ["--trials", "2"]
    model = os.environ.get("COSTAR_MODEL")
    if model:
        print(f"model: {model} (a real model, named by COSTAR_MODEL)", flush=True)
        run = [COSTAR, "run", "--name", f"support on {model}", *args]
        return (
            subprocess.call(run, cwd=HERE)
            or subprocess.call(ASSESS, cwd=HERE)
            or subprocess.call(REPORT, cwd=HERE)
        )
    with FakeLLM(HERE / "fake_llm.yaml") as fake:
        print(
            f"model: the scripted fake LLM at {fake.base_url}. This is not a real model: its "
            "replies come from examples/support/fake_llm.yaml. Set COSTAR_MODEL to use one.",
            flush=True,
        )
        env = {**os.environ, **fake.env("openai:/scripted-fake")}
        run = [COSTAR, "run", "--name", "support on the scripted fake LLM", *args]
        return (
            subprocess.call(run, cwd=HERE, env=env)
            or subprocess.call(ASSESS, cwd=HERE, env=env)
            or subprocess.call(REPORT, cwd=HERE, env=env)
            or simulated_user_demo(env)
            or best_practices_demo(env)
            or history_demo(env, args)
            or judge_loop_demo(env)
            or explain_demo(env)
            or refine_demo(HERE / ".costar" / "refine-demo", env)
            or coverage_demo(env)
        )


def simulated_user_demo(env: dict[str, str]) -> int:
    """Show the conversation of scenario refund-simulated-customer, whose customer an LLM plays
    (its `user:` block; here the scripted fake): `costar show` of its first trial. The report
    above ends with the run's simulator fault rate, from the simulator-fidelity judge."""
    from costar.config import load_settings
    from costar.traces import TraceStore

    print("== a simulated user: an LLM plays the customer (refund-simulated-customer)", flush=True)
    store = TraceStore(load_settings(start=HERE).store_uri())
    rows = store.run_traces(store.newest_run().run_id)
    found = [r for r in rows if r.scenario_id == "refund-simulated-customer" and r.trial == 0]
    if not found:
        return 0  # the run left the scenario out (--scenario, --tag)
    return subprocess.call([COSTAR, "show", found[0].trace_id], cwd=HERE, env=env)


def best_practices_demo(env: dict[str, str]) -> int:
    """The best-practices judge's failing verdicts of the newest run, each with the passage of
    the house style guide (docs/) it cites (`costar verdicts RUN --judge best-practices`)."""
    from costar.config import load_settings
    from costar.traces import TraceStore

    print("== best practices: verdicts that cite the house style guide (docs/)", flush=True)
    run_id = TraceStore(load_settings(start=HERE).store_uri()).newest_run().run_id
    show = [COSTAR, "verdicts", run_id, "--judge", "best-practices", "--failed"]
    return subprocess.call(show, cwd=HERE, env=env)


def history_demo(env: dict[str, str], args: list[str]) -> int:
    """Run and judge the suite once more, then print the suite's history (`costar report
    --history 10`) and write it as HTML to .costar/history.html. Each `make demo` adds runs,
    so the history grows."""
    print("== history: the suite's runs side by side", flush=True)
    run = [COSTAR, "run", "--name", "support, the nightly run", *args]
    history = [COSTAR, "report", "--history", "10", "--html", ".costar/history.html"]
    for step in (run, ASSESS, history):
        code = subprocess.call(step, cwd=HERE, env=env)
        if code:
            return code
    print(f"history report: {HERE / '.costar' / 'history.html'}", flush=True)
    return 0


# What a stand-in expert says about each scenario for the LLM judge `follows-guidelines`. The
# expert also fails the ambiguous refund (the agent should ask which order is meant), where the
# scripted judge passes: the agreement report shows that disagreement.
EXPERT = {
    "refund-outside-window": (False, "refunded outside the 30-day window without the policy"),
    "refund-without-confirmation": (False, "refunded before the customer confirmed"),
    "ambiguous-refund": (False, "should have asked which of the two orders is meant"),
}
UNLABELLED = {"escalate-to-human", "customer-email", "change-address"}  # for --suggest


def judge_loop_demo(env: dict[str, str]) -> int:
    """Import a stand-in expert's labels for the newest run, then `costar judges agreement`
    and `costar label --suggest`. Returns the first failing exit code."""
    import json

    from costar.config import load_settings
    from costar.traces import TraceStore

    print("== the judge loop: labels, agreement, what to label next", flush=True)
    store = TraceStore(load_settings(start=HERE).store_uri())
    rows = store.run_traces(store.newest_run().run_id)
    labels = [
        {
            "trace_id": r.trace_id,
            "judge": "follows-guidelines",
            "value": EXPERT.get(r.scenario_id, (True, ""))[0],
            "rationale": EXPERT.get(r.scenario_id, (True, ""))[1],
        }
        for r in rows
        if r.trial == 0 and r.scenario_id not in UNLABELLED
    ]
    path = HERE / ".costar" / "demo-labels.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in labels), encoding="utf-8")
    steps = [
        [COSTAR, "label", "--import", str(path), "--labeller", "demo-expert"],
        [COSTAR, "judges", "agreement", "follows-guidelines"],
        [COSTAR, "label", "--judge", "follows-guidelines", "--suggest", "3", "--list"],
    ]
    for step in steps:
        code = subprocess.call(step, cwd=HERE, env=env)
        if code:
            return code
    return 0


def explain_demo(env: dict[str, str]) -> int:
    """Why did refund-outside-window fail? `costar explain --verify` on its newest trace names
    the step (deterministic evidence, then the scripted attributor) and confirms it by replaying
    the trial with that step corrected. Prints one confirmed attribution."""
    from costar.config import load_settings
    from costar.traces import TraceStore

    print("== why did it fail? costar explain --verify", flush=True)
    store = TraceStore(load_settings(start=HERE).store_uri())
    rows = store.run_traces(store.newest_run().run_id)
    trace = next(r.trace_id for r in rows if r.scenario_id == "refund-outside-window")
    explain = [COSTAR, "explain", trace, "--judge", "final-state", "--verify"]
    return subprocess.call(explain, cwd=HERE, env=env)


def refine_demo(target: Path, env: dict[str, str]) -> int:
    """Copy the example into `target` as its own git repository and run `costar refine` there
    with the scripted assistant; print the report. Returns refine's exit code."""
    print("== the agent loop: costar refine with a scripted assistant", flush=True)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(HERE, target, ignore=shutil.ignore_patterns(".costar", "__pycache__"))
    (target / ".gitignore").write_text(".costar/\n__pycache__/\n")
    ident = ["-c", "user.name=costar demo", "-c", "user.email=demo@localhost"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-qm", "agent"]):
        subprocess.run(["git", *args], cwd=target, check=True)
    assistant = f"{sys.executable} assistant/fix_refunds.py {{brief_file}}"
    code = subprocess.call(
        [COSTAR, "refine", "--assistant", assistant, "--max-iterations", "2"], cwd=target, env=env
    )
    reports = sorted((target / ".costar" / "refine").glob("*/report.md"))
    if reports:
        print(reports[-1].read_text(encoding="utf-8"), flush=True)
    return code


def coverage_demo(env: dict[str, str]) -> int:
    """Production traffic (production_requests.txt, served by the agent through replay.py into
    its own store), then `costar coverage`: how much of it the suite covers, and the gaps.
    Ends with the coverage line."""
    print("== production coverage: which requests the suite covers", flush=True)
    store = HERE / ".costar" / "production.db"
    store.unlink(missing_ok=True)
    uri = f"sqlite:///{store}"
    serve = [sys.executable, str(HERE / "replay.py"), "--tracking-uri", uri, "--requests",
             str(HERE / "production_requests.txt")]  # fmt: skip
    code = subprocess.call(serve, cwd=HERE, env=env, stdout=subprocess.DEVNULL)
    if code:
        return code
    return subprocess.call(
        [COSTAR, "coverage", "support-production", "--tracking-uri", uri], cwd=HERE, env=env
    )


if __name__ == "__main__":
    sys.exit(main())
