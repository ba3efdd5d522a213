"""What an explanation records: evidence, the attributed step, and the counterfactual's result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from costar.config import Project

ATTRIBUTION_VERSION = 1  # bumped when a kept attribution can no longer be read as it was
Status = Literal["unverified", "confirmed", "refuted", "unverifiable"]
StepKind = Literal["user_turn", "llm", "tool_call", "tool_result"]


class Evidence(BaseModel):
    """A deterministic finding that points at a step, found before any model is asked."""

    step: int = Field(description="The step's number (see costar.traces.trace_steps).")
    span_id: str = Field(description="The span of that step.")
    rule: str = Field(
        description="failing_tool_result | error | forbidden_call | state_change | cited"
    )
    reason: str = Field(description="What was found, in one sentence.")


class Verification(BaseModel):
    """The counterfactual check: replay to the step, substitute the correction, re-judge."""

    status: Status = Field(description="confirmed, refuted or unverifiable.")
    reason: str = Field(description="Why this status.")
    run_id: str | None = Field(None, description="The counterfactual run.")
    trials: int = Field(0, description="Counterfactual trials run.")
    passed: int = Field(0, description="Of them, how many the judge passed.")
    trace_ids: list[str] = Field(default_factory=list, description="Counterfactual traces.")
    earlier_step: int | None = Field(
        None, description="An earlier step the evidence shows went wrong first (see reason)."
    )


class Attribution(BaseModel):
    """The earliest step believed to cause one failing verdict."""

    version: int = Field(ATTRIBUTION_VERSION, description="Schema version.")
    trace_id: str = Field(description="The failing trace.")
    run_id: str = Field("", description="Its run.")
    scenario_id: str = Field("", description="Its scenario.")
    trial: int = Field(0, description="Its trial.")
    judge: str = Field(description="The judge whose verdict failed.")
    symptom: str = Field("", description="The verdict's rationale.")
    step: int | None = Field(None, description="The attributed step's number; None: no cause.")
    span_id: str | None = Field(None, description="The attributed step's span.")
    kind: StepKind | None = Field(None, description="user_turn, llm, tool_call or tool_result.")
    name: str = Field("", description="The step's tool or model-call name.")
    agent: str | None = Field(None, description="The agent that took the step (imported logs).")
    reason: str = Field("", description="Why this step.")
    confidence: float = Field(0.0, ge=0, le=1, description="The attributor's confidence.")
    method: Literal["deterministic", "agentic"] = Field(description="Who named the step.")
    correction: Any = Field(None, description="What the step should have produced.")
    evidence: list[Evidence] = Field(default_factory=list, description="Deterministic findings.")
    llm_calls: int = Field(0, description="Model calls the attributor made.")
    tokens: int = Field(0, description="Tokens the attributor used.")
    status: Status = Field("unverified", description="The counterfactual's verdict on the claim.")
    verification: Verification | None = Field(None, description="The counterfactual check.")

    def line(self) -> str:
        """One line: where, what kind, status."""
        if self.step is None:
            return f"{self.judge}: no cause named ({self.reason})"
        what = f"step {self.step} ({self.kind} {self.name})".replace(" )", ")")
        return f"{self.judge}: {what} span {self.span_id} [{self.status}]: {self.reason}"


def explain_dir(root: Path) -> Path:
    """Where attributions are kept: `.costar/explain/<trace_id>.json`, one list per trace."""
    return Project.at(root).explain_dir


def save(root: Path, attributions: list[Attribution]) -> None:
    """Keep attributions beside the stores; a newer one for a (trace, judge) replaces the old."""
    folder = explain_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    by_trace: dict[str, list[Attribution]] = {}
    for a in attributions:
        by_trace.setdefault(a.trace_id, []).append(a)
    for trace_id, new in by_trace.items():
        kept = {a.judge: a for a in load(root, trace_id)}
        kept.update({a.judge: a for a in new})
        path = folder / f"{trace_id}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps([a.model_dump(mode="json") for a in kept.values()], indent=1),
            encoding="utf-8",
        )
        tmp.replace(path)


def load(root: Path, trace_id: str) -> list[Attribution]:
    """The attributions kept for one trace (none when never explained)."""
    path = explain_dir(root) / f"{trace_id}.json"
    if not path.is_file():
        return []
    try:
        return [Attribution.model_validate(d) for d in json.loads(path.read_text("utf-8"))]
    except (ValueError, TypeError):
        return []  # a damaged file is an explanation to redo, never a crash
