"""The agent loop: red (baseline), brief, the assistant edits a worktree, green (targeted,
training, held-out), accept or revert, and a report for the human reviewer.

Each attempt works in its own git worktree on its own branch, made from the baseline commit.
Held-out scenario files are removed from the worktree while the assistant works and never appear
in a brief. After the assistant, changes outside the editable files (`agent_files`) are put
back: scenarios, judges and configuration are not the agent's to edit. The agent is then run
from the worktree (as `costar run` subprocesses, so the edited code is what runs) into the
project's store, and judged by the project's own judges.

An attempt is accepted only if every targeted failure is fixed, no scenario that passed at
baseline fails now, and the gate's paired comparison with the baseline finds no regression, on
the training split and on the held-out split. Nothing is merged: the accepted change waits on
its branch with a report.
"""

from __future__ import annotations

import glob
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError
from costar.assess import summarise
from costar.config import Project
from costar.judges import Verdict
from costar.refine import _git
from costar.refine._accept import check_split, failing, split_suite
from costar.refine._assistants import AssistantTask, make_assistant
from costar.refine._brief import build_brief, cause_report
from costar.refine._config import RefineConfig, RefineError
from costar.refine._runner import Runner
from costar.scenarios import load_suite
from costar.traces import TraceStore


@dataclass
class Attempt:
    """One refine iteration: the assistant's patch, the runs that judged it and the outcome."""

    iteration: int
    status: str  # accepted | rejected | crashed | timeout | no-change
    reason: str
    branch: str | None = None
    commit: str | None = None
    diff: str = ""
    discarded: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # split -> run id
    rates: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    metrics: dict[str, dict[str, list[float | None]]] = field(default_factory=dict)
    assistant: str = ""
    output: str = ""
    tokens: int = 0
    seconds: float = 0.0
    causes: list[dict[str, Any]] = field(default_factory=list)  # attributed steps, touched?


@dataclass
class RefineResult:
    """A refine session: its baseline, train/holdout split, targeted scenarios and attempts."""

    session: str
    base_commit: str
    baseline_run: str
    train: list[str]
    holdout: list[str]
    targeted: list[str]
    attempts: list[Attempt] = field(default_factory=list)
    status: str = "running"  # accepted | rejected | nothing-to-fix | interrupted
    report: str | None = None

    @property
    def accepted(self) -> Attempt | None:
        return next((a for a in self.attempts if a.status == "accepted"), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# -- the loop ------------------------------------------------------------------------------
def _editable(project_dir: Path, patterns: list[str]) -> set[str]:
    found: set[str] = set()
    for pattern in patterns:
        for path in glob.glob(str(project_dir / pattern), recursive=True):
            if Path(path).is_file():
                found.add(Path(path).relative_to(project_dir).as_posix())
    return found


def _rates(verdicts: list[Verdict], scenarios: set[str]) -> dict[str, float | None]:
    return {
        name: s.rate
        for name, s in summarise([v for v in verdicts if v.scenario_id in scenarios]).items()
        if s.rate is not None
    }


def _medians(verdicts: list[Verdict], scenarios: set[str]) -> dict[str, float | None]:
    summary = summarise([v for v in verdicts if v.scenario_id in scenarios])
    return {name: s.median for name, s in summary.items() if s.median is not None}


def refine(config: RefineConfig, say: Callable[[str], None] | None = None) -> RefineResult:
    """Run the agent loop; see the module docstring."""
    say = say or (lambda _m: None)
    if not config.agent_files:
        raise ConfigError(
            "costar refine needs the agent's editable files: set agent_files in costar.toml "
            '(for example ["agent.py", "prompts/*.md"])'
        )
    started = time.monotonic()
    repo = _git.repo_root(config.root)
    project_rel = config.root.resolve().relative_to(repo.resolve()).as_posix()
    project_rel = "" if project_rel == "." else project_rel
    base = _git.head(repo)
    session = time.strftime("%Y%m%d-%H%M%S")
    folder = Project.at(config.root).refine_dir / session
    folder.mkdir(parents=True, exist_ok=True)
    assistant = make_assistant(
        config.assistant,
        config.assistant_timeout,
        config.model,
        config.gepa_budget,
        config.components or config.agent_files,
    )
    suite = load_suite(
        config.root / config.suite, allow_outside_fixtures=config.allow_outside_fixtures
    )
    ids_tags = {s.id: list(s.scenario.tags) for s in suite.scenarios}
    files = {s.id: s.path for s in suite.scenarios}
    train, holdout = split_suite(ids_tags, config.holdout_tag, config.holdout_fraction)
    runner = Runner(config, session)
    scratch = Path(tempfile.mkdtemp(prefix="costar-refine-"))
    dirty = _git.dirty(repo, [f"{project_rel}/{p}".lstrip("/") for p in config.agent_files])
    if dirty:
        say(f"note: uncommitted changes are not part of the baseline: {', '.join(dirty[:5])}")

    def worktree(name: str, branch: str) -> tuple[Path, Path]:
        where = scratch / name
        _git.add_worktree(repo, where, branch, base)
        return where, where / project_rel

    # red: the baseline, from the baseline commit unless a run is given
    if config.baseline_run:
        baseline_run = (
            TraceStore(config.tracking_uri, config.experiment).get_run(config.baseline_run).run_id
        )
        before = runner.judge(baseline_run)
    else:
        say(f"baseline: running {len(ids_tags)} scenarios at {base[:10]}")
        wt, proj = worktree("baseline", f"costar/refine-{session}-baseline")
        try:
            baseline_run, before = runner.run(proj, sorted(ids_tags), "baseline")
        finally:
            _git.remove_worktree(repo, wt, f"costar/refine-{session}-baseline")
    targeted = sorted(failing(before, set(train)))
    result = RefineResult(session, base, baseline_run, train, holdout, targeted)
    if not targeted:
        result.status = "nothing-to-fix"
        _finish(result, folder, before, say)
        return result
    say(
        f"baseline {baseline_run[:12]}: failing in training: {', '.join(targeted)}; "
        f"held out: {', '.join(holdout) or 'none'}"
    )
    previous: list[str] = []
    tokens = 0
    try:
        for i in range(1, config.max_iterations + 1):
            if config.max_minutes and (time.monotonic() - started) / 60 > config.max_minutes:
                previous.append(f"stopped: wall-time budget of {config.max_minutes} min used")
                break
            if config.max_tokens and tokens >= config.max_tokens:
                previous.append(f"stopped: token budget of {config.max_tokens} used")
                break
            attempt = _attempt(
                i,
                config,
                runner,
                assistant,
                repo,
                project_rel,
                base,
                session,
                scratch,
                folder,
                before,
                train,
                holdout,
                targeted,
                files,
                previous,
                say,
            )
            tokens += attempt.tokens
            result.attempts.append(attempt)
            say(f"attempt {i}: {attempt.status}: {attempt.reason}")
            if attempt.status == "accepted":
                break
            previous.append(f"attempt {i} ({attempt.status}): {attempt.reason}")
    except KeyboardInterrupt:
        result.status = "interrupted"
        _finish(result, folder, before, say)
        raise
    finally:
        _git.git(repo, "worktree", "prune", check=False)
    result.status = "accepted" if result.accepted else "rejected"
    _finish(result, folder, before, say)
    return result


def _attempt(
    i: int,
    config: RefineConfig,
    runner: Runner,
    assistant: Any,
    repo: Path,
    project_rel: str,
    base: str,
    session: str,
    scratch: Path,
    folder: Path,
    before: list[Verdict],
    train: list[str],
    holdout: list[str],
    targeted: list[str],
    files: dict[str, Path],
    previous: list[str],
    say: Callable[[str], None],
) -> Attempt:
    branch = f"costar/refine-{session}-{i}"
    where = scratch / f"attempt-{i}"
    _git.add_worktree(repo, where, branch, base)
    proj = where / project_rel
    keep = False
    attempt = Attempt(
        iteration=i, status="rejected", reason="", branch=branch, assistant=assistant.name
    )
    started = time.monotonic()
    try:
        editable = _editable(proj, config.agent_files)
        brief = build_brief(
            project_rel,
            before,
            runner.views(before),
            set(train),
            sorted(editable),
            previous,
            _causes(config.root, before),
        )
        brief_file = folder / f"brief-{i}.md"
        brief_file.write_text(brief.to_markdown(), encoding="utf-8")
        hidden = {files[s].resolve().relative_to(config.root.resolve()).as_posix() for s in holdout}
        for rel in hidden:  # held-out scenarios are never shown to the assistant
            (proj / rel).unlink(missing_ok=True)
        say(f"attempt {i}: {assistant.name} is working on {', '.join(targeted)}")
        task = AssistantTask(
            where,
            proj,
            brief,
            brief_file,
            list(train),
            lambda ids: runner.scores(proj, ids, f"#{i} candidate"),
        )
        outcome = assistant.propose(task)
        attempt.output, attempt.tokens = outcome.output, outcome.tokens
        # scenarios, judges, configuration and held-out files go back as they were
        allowed = editable | _editable(proj, config.agent_files)
        prefix = f"{project_rel}/" if project_rel else ""
        touched = _git.changed(where)
        attempt.discarded = [
            p for p in touched if not (p.startswith(prefix) and p[len(prefix) :] in allowed)
        ]
        _git.restore(where, base, attempt.discarded)
        attempt.discarded = [p for p in attempt.discarded if p[len(prefix) :] not in hidden]
        if outcome.status != "ok":
            attempt.status, attempt.reason = outcome.status, outcome.detail
            return attempt
        attempt.diff = _git.diff(where)
        attempt.causes = cause_report(brief, attempt.diff)
        if not attempt.diff.strip():
            attempt.status, attempt.reason = (
                "no-change",
                f"{outcome.detail}; no editable file changed",
            )
            return attempt
        # green: the targeted failures, then the training split, then the held-out split
        run_id, after = runner.run(proj, targeted, f"#{i} targeted")
        attempt.runs["targeted"] = run_id
        still = failing(after, set(targeted))
        if still:
            attempt.reason = "targeted failures not fixed: " + "; ".join(
                f"{s} ({', '.join(sorted(j))})" for s, j in sorted(still.items())
            )
            return attempt
        reasons = []
        for split, ids in (("train", train), ("held-out", holdout)):
            if not ids:
                continue
            run_id, after = runner.run(proj, ids, f"#{i} {split}")
            attempt.runs[split] = run_id
            b_rates, a_rates = _rates(before, set(ids)), _rates(after, set(ids))
            attempt.rates[split] = {
                j: [b_rates.get(j), a_rates.get(j)] for j in sorted(set(b_rates) | set(a_rates))
            }
            b_med, a_med = _medians(before, set(ids)), _medians(after, set(ids))
            attempt.metrics[split] = {
                m: [b_med.get(m), a_med.get(m)] for m in sorted(set(b_med) | set(a_med))
            }
            reasons += check_split(split, before, after, set(ids), config.alpha)
            if reasons:
                break
        if reasons:
            attempt.reason = "; ".join(reasons)
            return attempt
        attempt.commit = _git.commit(
            where, f"costar refine: fix {', '.join(targeted)}\n\n{outcome.detail}"
        )
        attempt.status, keep = "accepted", True
        attempt.reason = f"fixed {', '.join(targeted)}; no regression on " + " or ".join(
            s for s, ids in (("train", train), ("held-out", holdout)) if ids
        )
        return attempt
    except RefineError as exc:
        attempt.status, attempt.reason = "rejected", str(exc)
        return attempt
    finally:
        attempt.seconds = round(time.monotonic() - started, 1)
        _git.remove_worktree(repo, where, None if keep else branch)
        if not keep:
            attempt.branch = None


def _causes(root: Path, verdicts: list[Verdict]) -> dict[tuple[str, str], Any]:
    """The attributions `costar explain` kept for the failing verdicts."""
    from costar.explain import load

    found = {}
    for trace_id in sorted({v.trace_id for v in verdicts if v.passed is False}):
        found.update({(trace_id, a.judge): a for a in load(root, trace_id)})
    return found


def _finish(
    result: RefineResult, folder: Path, before: list[Verdict], say: Callable[[str], None]
) -> None:
    from costar.refine._report import render

    (folder / "result.json").write_text(
        json.dumps(result.to_json(), indent=2, default=str), encoding="utf-8"
    )
    report = folder / "report.md"
    report.write_text(render(result), encoding="utf-8")
    result.report = str(report)
    say(f"report: {report}")
