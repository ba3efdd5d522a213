"""Deterministic evidence for a failing verdict, found before any model is asked.

In order of how directly a finding points at a cause: a tool result that failed, the trial's
error, a forbidden call the verdict names, and the first state-changing call whose arguments
touch what a failing final-state check queries; then the spans the judge cited. Each finding
names a step; the earliest is the deterministic attribution when no model is used.
"""

from __future__ import annotations

import re
from typing import Any

from costar.explain._model import Evidence
from costar.judges import Verdict
from costar.traces import TraceStep, TraceView

_FORBIDDEN = re.compile(r"forbidden tool (\S+)")
_LITERAL = re.compile(r"'([^']*)'|\b(\d+)\b")


def _values(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_values(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_values(v) for v in value)) if value else set()
    return {str(value)} if value is not None else set()


def find_evidence(
    view: TraceView,
    verdict: Verdict,
    scenario: Any,
    steps: list[TraceStep],
    read_only: list[str] | None = None,
) -> list[Evidence]:
    """The findings for one failing verdict, each naming a step, earliest step first."""
    by_span = {s.span_id: s for s in steps}
    found: list[Evidence] = []

    def add(step: TraceStep, rule: str, reason: str) -> None:
        if not any(e.step == step.index and e.rule == rule for e in found):
            found.append(Evidence(step=step.index, span_id=step.span_id, rule=rule, reason=reason))

    tools = [s for s in steps if s.kind == "tool"]
    for step in tools:
        if step.error:
            add(step, "failing_tool_result", f"{step.name} failed: {step.error[:200]}")
            break
    if view.error and steps:
        last = steps[-1]
        add(last, "error", f"the trial ended in error after this step: {view.error[:200]}")
    for name in _FORBIDDEN.findall(verdict.rationale or ""):
        hit = next((s for s in tools if s.name == name), None)
        if hit is not None:
            add(hit, "forbidden_call", f"forbidden tool {name} called")
    expectations = getattr(scenario, "expectations", None)
    if verdict.judge == "final-state" and expectations is not None and expectations.state:
        skip = set(read_only or []) | set(expectations.read_only)
        literals = {a or b for check in expectations.state for a, b in _LITERAL.findall(check.sql)}
        writes = [s for s in tools if s.name not in skip and not s.error]
        touching = [s for s in writes if _values(s.inputs) & literals]
        first = (touching or writes)[:1]
        for step in first:
            known = "" if skip else " (no read_only tools declared: any tool may write)"
            add(
                step,
                "state_change",
                f"{step.name} is the first call that may have changed "
                f"what the failing check queries{known}",
            )
    for span_id in verdict.evidence:
        if span_id in by_span:
            add(by_span[span_id], "cited", f"cited by judge {verdict.judge}")
    return sorted(found, key=lambda e: e.step)
