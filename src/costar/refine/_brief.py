"""The assistant's task brief: what fails and why, what must keep passing, what may change.

Built only from the training split: held-out scenarios never appear in it. Evidence is a bounded
excerpt of the spans a failing judge cited, so the brief stays readable whatever the trace size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from costar.judges import Verdict, clip_value
from costar.traces import TraceView

MAX_BRIEF = 60_000  # characters; failures beyond it are listed by name only


@dataclass
class Failure:
    scenario_id: str
    judge: str
    rationale: str
    user_turns: list[str]
    output: str
    evidence: list[str] = field(default_factory=list)
    cause: Any = None  # the Attribution `costar explain` made for this failure, if any

    @property
    def cause_rank(self) -> int:
        """Confirmed causes first, then unverified, then the rest."""
        status = str(getattr(self.cause, "status", ""))
        return {"confirmed": 0, "unverified": 1, "unverifiable": 2, "refuted": 3}.get(status, 4)


@dataclass
class Brief:
    """Everything an assistant is told for one attempt."""

    project_dir: str  # relative to the repository root
    failures: list[Failure]
    keep_passing: list[str]
    editable: list[str]
    rerun: list[str]
    previous: list[str] = field(default_factory=list)  # why earlier attempts were rejected

    @property
    def targeted(self) -> list[str]:
        return sorted({f.scenario_id for f in self.failures})

    def to_markdown(self) -> str:
        out = [
            "# Fix the failing scenarios of this agent",
            "",
            "You are editing an AI agent. Its test suite is a set of scenarios scored by judges. "
            "Find the cause of each failure below and change the agent so that it passes, "
            "without breaking the scenarios that pass now. Edit only the editable files listed; "
            "changes to anything else (scenarios, judges, configuration) are discarded. Fix the "
            "behaviour in general: the change is also checked on scenarios you are not shown.",
            "",
            f"Project folder (relative to the repository root): `{self.project_dir or '.'}`",
            "",
            "## Editable files",
            *[f"- `{p}`" for p in self.editable],
            "",
            "## Failing",
        ]
        size = sum(map(len, out))
        for f in self.failures:
            block = [
                f"### {f.scenario_id}: judge `{f.judge}`",
                f"Why it failed: {f.rationale or '(no rationale)'}",
                "User: " + " / ".join(clip_value(t, 300) for t in f.user_turns),
                f"Agent's last reply: {clip_value(f.output, 400)}",
                *cause_lines(f.cause),
                *(f"- evidence: {e}" for e in f.evidence),
                "",
            ]
            if size + sum(map(len, block)) > MAX_BRIEF:
                out.append(f"- {f.scenario_id}: judge `{f.judge}` (details left out: brief size)")
                continue
            size += sum(map(len, block))
            out += block
        out += ["## Must keep passing", ", ".join(self.keep_passing) or "(none)", ""]
        out += ["## Re-run a scenario yourself", *[f"    {c}" for c in self.rerun], ""]
        if self.previous:
            out += ["## Earlier attempts were rejected", *[f"- {p}" for p in self.previous], ""]
        return "\n".join(out)


_STATUS = {
    "confirmed": "confirmed: with this step corrected, a replay of the trial passes",
    "refuted": "refuted: correcting this step did not fix the failure; look elsewhere",
    "unverifiable": "not verified: the step could not be replayed",
    "unverified": "not verified yet",
}


def cause_lines(cause: Any) -> list[str]:
    """The attributed step of a failure, with its status, as brief lines."""
    if cause is None or cause.step is None:
        return []
    lines = [
        f"Attributed cause ({_STATUS.get(cause.status, cause.status)}): step {cause.step}, "
        f"{cause.kind} `{cause.name}` (span {cause.span_id}): {clip_value(cause.reason, 300)}"
    ]
    if cause.correction is not None:
        lines.append(f"It should have produced: {clip_value(cause.correction, 300)}")
    return lines


def evidence_of(view: TraceView | None, verdict: Verdict) -> list[str]:
    """Bounded excerpts of the spans the verdict cites."""
    if view is None:
        return []
    lines = []
    for span_id in verdict.evidence[:5]:
        try:
            span = view.span(span_id)
        except KeyError:
            continue
        what = f"{span.span_type} `{span.name}`"
        if span.inputs is not None:
            what += f" input {clip_value(span.inputs, 300)}"
        if span.error:
            what += f" error {clip_value(span.error, 300)}"
        elif span.outputs is not None:
            what += f" output {clip_value(span.outputs, 300)}"
        lines.append(what)
    return lines


def build_brief(
    project_dir: str,
    verdicts: list[Verdict],
    views: dict[str, TraceView],
    train: set[str],
    editable: list[str],
    previous: list[str],
    causes: dict[tuple[str, str], Any] | None = None,
) -> Brief:
    """The brief for the training split's failures (one entry per scenario and judge), each
    with its attributed cause from `causes` ((trace id, judge) -> Attribution; confirmed
    causes first)."""
    causes = causes or {}
    failures: dict[tuple[str, str], Failure] = {}
    failing: set[str] = set()
    seen: set[str] = set()
    for v in sorted(verdicts, key=lambda v: (v.scenario_id, v.judge, v.trial)):
        if v.scenario_id not in train or v.status != "ok" or v.passed is None:
            continue
        seen.add(v.scenario_id)
        if v.passed:
            continue
        failing.add(v.scenario_id)
        key = (v.scenario_id, v.judge)
        cause = causes.get((v.trace_id, v.judge))
        if key in failures:
            known = failures[key]
            if cause is not None and (known.cause is None or _rank(cause) < known.cause_rank):
                known.cause = cause
            continue
        view = views.get(v.trace_id)
        failures[key] = Failure(
            scenario_id=v.scenario_id,
            judge=v.judge,
            rationale=clip_value(v.rationale, 1000),
            user_turns=view.turns if view else [],
            output=clip_value(view.output, 400) if view and view.output is not None else "",
            evidence=evidence_of(view, v),
            cause=cause,
        )
    targets = sorted(failing)
    rerun = [
        f"costar run --scenario {targets[0] if targets else 'ID'}   # in the project folder",
        "costar assess --last   # then: costar verdicts RUN_ID --failed",
    ]
    return Brief(
        project_dir=project_dir,
        failures=sorted(failures.values(), key=lambda f: f.cause_rank),
        keep_passing=sorted(seen - failing),
        editable=editable,
        rerun=rerun,
        previous=previous,
    )


def _rank(cause: Any) -> int:
    return Failure("", "", "", [], "", cause=cause).cause_rank


def touched(diff: str, cause: Any) -> bool:
    """Whether a change touched the attributed step's code or prompt: for a tool step, a
    changed line or hunk header names the tool; for a model decision, a prompt (any changed
    file that is not Python) or a changed line naming a prompt. A user turn is never the
    agent's code."""
    changed: list[str] = []
    files: list[str] = []
    for line in diff.splitlines():
        if line.startswith(("+++ ", "--- ")):
            files.append(line[4:].removeprefix("a/").removeprefix("b/"))
        elif line.startswith(("+", "-", "@@")):
            changed.append(line)
    if cause.kind in ("tool_call", "tool_result"):
        return bool(cause.name) and any(cause.name in line for line in changed)
    if cause.kind == "llm":
        prompts = [f for f in files if f != "/dev/null" and not f.endswith(".py")]
        return bool(prompts) or any("prompt" in line.lower() for line in changed)
    return False


def cause_report(brief: Brief, diff: str) -> list[dict[str, Any]]:
    """Per failure with an attributed step: the step, its status and whether `diff` touched it."""
    return [
        {
            "scenario_id": f.scenario_id,
            "judge": f.judge,
            "step": f.cause.step,
            "kind": f.cause.kind,
            "name": f.cause.name,
            "status": f.cause.status,
            "touched": touched(diff, f.cause),
        }
        for f in brief.failures
        if f.cause is not None and f.cause.step is not None
    ]
