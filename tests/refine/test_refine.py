"""`costar refine` with scripted assistants (plain scripts that edit files) in a real git
repository: accepted, rejected for a regression, rejected for overfitting, crashes and
timeouts recorded while the loop goes on. Each attempt's runs are real `costar run`
subprocesses from the worktree into the project's store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.config import load_settings
from costar.refine import RefineConfig, refine, split_suite

pytestmark = pytest.mark.slow

AGENT = """
import json
from pathlib import Path

HERE = Path(__file__).parent


def run(ctx):
    replies = json.loads((HERE / "replies.json").read_text())
    return replies.get(ctx.input, "echo: " + ctx.input)
"""
REPLIES = {"greet": "hi", "bye": "goodbye", "greet again": "welcome back"}
SUITE = {
    "scenarios/greet.yaml": "id: greet\ninput: greet\nexpectations: {facts: [hello]}\n",
    "scenarios/bye.yaml": "id: bye\ninput: bye\nexpectations: {facts: [goodbye]}\n",
    "scenarios/again.yaml": (
        "id: again\ninput: greet again\ntags: [holdout]\nexpectations: {facts: [welcome back]}\n"
    ),
}
# scripted assistants: they get the brief's path as their argument, like `aider --message-file`
FIX = """
import json, sys
from pathlib import Path
brief = Path(sys.argv[1]).read_text()
assert "greet" in brief and "again" not in brief, "held-out scenarios must not be shown"
assert not Path("scenarios/again.yaml").exists(), "held-out files are hidden"
r = json.loads(Path("replies.json").read_text()); r["greet"] = "hello there"
Path("replies.json").write_text(json.dumps(r))
Path("scenarios/greet.yaml").write_text("id: greet\\ninput: greet\\n")  # cheating: discarded
"""
FIX_AND_BREAK = """
import json
from pathlib import Path
r = json.loads(Path("replies.json").read_text()); r["greet"] = "hello"; r["bye"] = "see ya"
Path("replies.json").write_text(json.dumps(r))
"""
OVERFIT = """
from pathlib import Path
code = Path("shop_agent.py").read_text().replace(
    "    replies = ", "    if 'greet' in ctx.input:\\n        return 'hello'\\n    replies = ")
Path("shop_agent.py").write_text(code)
"""
CRASH_THEN_FIX = """
import json, os, sys
from pathlib import Path
marker = Path(os.environ["MARKER"])
if not marker.exists():
    marker.write_text("1")
    sys.exit("model quota exceeded")
r = json.loads(Path("replies.json").read_text()); r["greet"] = "hello"
Path("replies.json").write_text(json.dumps(r))
"""
HANG = "import time\ntime.sleep(60)\n"


@pytest.fixture
def repo(project: Path) -> Path:
    write_files(
        project,
        {
            "costar.toml": (
                "[costar]\nsuite = 'scenarios'\nagent = 'shop_agent:run'\n"
                "agent_files = ['shop_agent.py', 'replies.json']\n"
            ),
            "shop_agent.py": AGENT,
            "replies.json": json.dumps(REPLIES),
            "assistants/fix.py": FIX,
            "assistants/fix_and_break.py": FIX_AND_BREAK,
            "assistants/overfit.py": OVERFIT,
            "assistants/crash_then_fix.py": CRASH_THEN_FIX,
            "assistants/hang.py": HANG,
            ".gitignore": ".costar/\n__pycache__/\n",
            **SUITE,
        },
    )
    return commit_all(project)


def commit_all(project: Path) -> Path:
    """Make the project a git repository with everything committed."""
    ident = ["-c", "user.name=t", "-c", "user.email=t@localhost"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-qm", "agent"]):
        subprocess.run(["git", *args], cwd=project, check=True)
    return project


def config(project: Path, assistant: str, **kw) -> RefineConfig:
    s = load_settings(start=project)
    return RefineConfig(
        root=project,
        tracking_uri=s.store_uri(),
        verdict_store=s.verdict_url(),
        judge_paths=s.judges,
        suite=s.suite,
        agent_files=s.agent_files,
        assistant=assistant,
        judges=["expected-facts"],
        **kw,
    )


def script(project: Path, name: str) -> str:
    return f"{sys.executable} {project / 'assistants' / name} {{brief_file}}"


def git(project: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=project, capture_output=True, text=True).stdout


def test_a_fix_is_accepted_on_its_own_branch_with_a_report(repo: Path) -> None:
    result = refine(config(repo, script(repo, "fix.py")))

    assert result.status == "accepted"
    assert result.targeted == ["greet"] and result.holdout == ["again"]
    (attempt,) = result.attempts
    assert attempt.status == "accepted" and set(attempt.runs) == {"targeted", "train", "held-out"}
    assert attempt.discarded == ["scenarios/greet.yaml"]  # not the assistant's to edit
    assert attempt.rates["train"]["expected-facts"] == [0.5, 1.0]
    # the change waits on its branch; main is untouched
    assert "hello there" in git(repo, "show", f"{attempt.branch}:replies.json")
    assert "hello" not in (repo / "replies.json").read_text()
    assert "expectations" in git(repo, "show", f"{attempt.branch}:scenarios/greet.yaml")
    assert git(repo, "worktree", "list").count("\n") == 1  # worktrees cleaned up
    report = Path(result.report).read_text()
    assert "**Accepted** on branch" in report and "| expected-facts | 50% | 100% |" in report
    assert '+{"greet": "hello there"' in report


def test_a_fix_that_breaks_another_scenario_is_rejected_with_the_reason(repo: Path) -> None:
    result = refine(config(repo, script(repo, "fix_and_break.py"), max_iterations=1))

    assert result.status == "rejected"
    (attempt,) = result.attempts
    assert attempt.status == "rejected"
    assert "train: broke bye, which passed before (now fails expected-facts)" in attempt.reason
    assert attempt.branch is None and "costar/refine" not in git(repo, "branch")
    assert attempt.reason in Path(result.report).read_text()


def test_an_overfit_fix_passes_training_but_is_rejected_on_the_held_out_split(repo: Path) -> None:
    result = refine(config(repo, script(repo, "overfit.py"), max_iterations=1))

    (attempt,) = result.attempts
    assert attempt.status == "rejected"
    assert attempt.rates["train"]["expected-facts"] == [0.5, 1.0]  # training looks perfect
    assert attempt.reason.startswith("held-out: broke again, which passed before")


def test_a_crash_is_recorded_and_the_next_attempt_is_briefed_about_it(
    repo: Path, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("MARKER", str(tmp_path / "marker"))
    result = refine(config(repo, script(repo, "crash_then_fix.py")))

    assert [a.status for a in result.attempts] == ["crashed", "accepted"]
    assert "exited with 1: model quota exceeded" in result.attempts[0].reason
    second_brief = (Path(result.report).parent / "brief-2.md").read_text()
    assert "attempt 1 (crashed)" in second_brief


def test_a_hung_assistant_times_out_and_the_loop_goes_on(repo: Path) -> None:
    result = refine(config(repo, script(repo, "hang.py"), max_iterations=2, assistant_timeout=2))

    assert [a.status for a in result.attempts] == ["timeout", "timeout"]
    assert "ran past 2 s and was stopped" in result.attempts[0].reason
    assert result.status == "rejected"


def test_the_held_out_split_is_the_tagged_scenarios_or_a_stable_sample() -> None:
    tags = {"a": [], "b": ["holdout"], "c": []}
    assert split_suite(tags, "holdout", 0.25) == (["a", "c"], ["b"])
    untagged = {f"s{i}": [] for i in range(8)}
    train, held = split_suite(untagged, "holdout", 0.25)
    assert len(held) == 2 and sorted(train + held) == sorted(untagged)
    assert split_suite(untagged, "holdout", 0.25) == (train, held)  # the same every time


def test_refine_outside_git_or_without_editable_files_is_a_usage_error(project: Path) -> None:
    def refine_cli(toml: str) -> subprocess.CompletedProcess:
        write_files(project, {"costar.toml": toml})
        return run_cli(project, "refine", "--assistant", "true")

    out = refine_cli("[costar]\nagent = 'sample_agents:echo'\n")
    assert out.returncode == 2 and "set agent_files in costar.toml" in out.stderr
    out = refine_cli("[costar]\nagent_files = ['a.py']\n")
    assert out.returncode == 2 and "not in a git repository" in out.stderr
    assert "Traceback" not in out.stderr
