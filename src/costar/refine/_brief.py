"""The assistant's task brief: what fails and why, what must keep passing, what may change.

Built only from the training split: held-out scenarios never appear in it. Evidence is a bounded
excerpt of the spans a failing judge cited, so the brief stays readable whatever the trace size.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from costar.judges import TraceView, Verdict, clip_value

MAX_BRIEF = 60_000  # characters; failures beyond it are listed by name only


@dataclass
class Failure:
    scenario_id: str
    judge: str
    rationale: str
    user_turns: list[str]
    output: str
    evidence: list[str] = field(default_factory=list)


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
) -> Brief:
    """The brief for the training split's failures (one entry per scenario and judge)."""
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
        if key in failures:
            continue
        view = views.get(v.trace_id)
        failures[key] = Failure(
            scenario_id=v.scenario_id,
            judge=v.judge,
            rationale=clip_value(v.rationale, 1000),
            user_turns=view.turns if view else [],
            output=clip_value(view.output, 400) if view and view.output is not None else "",
            evidence=evidence_of(view, v),
        )
    targets = sorted(failing)
    rerun = [
        f"costar run --scenario {targets[0] if targets else 'ID'}   # in the project folder",
        "costar assess --last   # then: costar verdicts RUN_ID --failed",
    ]
    return Brief(
        project_dir=project_dir,
        failures=list(failures.values()),
        keep_passing=sorted(seen - failing),
        editable=editable,
        rerun=rerun,
        previous=previous,
    )
