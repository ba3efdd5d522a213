"""Verdict: one judge's finding on one trace. A persistent, versioned schema."""

from __future__ import annotations

import time
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

# the version of the Verdict schema
VERDICT_VERSION: Final = 1
JudgeKind = Literal["check", "llm", "agentic", "metric"]
VerdictStatus = Literal["ok", "error", "skipped"]


class JudgeCost(BaseModel):
    """What producing the verdict cost (LLM judges; zero for checks and metrics)."""

    llm_calls: int = Field(0, description="Model calls the judge made.")
    input_tokens: int = Field(0, description="Prompt tokens the judge used.")
    output_tokens: int = Field(0, description="Completion tokens the judge used.")
    seconds: float = Field(0.0, description="Wall time of the judgement.")
    tool_calls: int = Field(
        0, description="Calls of the project's own tools (Python judge tools, MCP servers)."
    )
    tool_seconds: float = Field(0.0, description="Wall time spent in the project's tools.")


class Verdict(BaseModel):
    """A judge's finding on one trace. An error is never a pass or a fail."""

    version: Literal[1] = Field(VERDICT_VERSION, description="Verdict schema version.")
    judge: str = Field(description="Judge name.")
    judge_version: str = Field(description="Hash of the judge's definition.")
    inputs: str = Field(
        "",
        description="Hash of what the verdict read besides the trace: the scenario fields the "
        "judge reads and an LLM judge's model (empty in verdicts stored before it existed).",
    )
    kind: JudgeKind = Field(description="check, llm, agentic or metric.")
    trace_id: str = Field(description="The trace judged.")
    run_id: str = Field("", description="The run the trace belongs to.")
    scenario_id: str = Field("", description="The trace's scenario.")
    trial: int = Field(0, description="The trace's trial index.")
    status: VerdictStatus = Field("ok", description="ok, error (judge failed) or skipped.")
    passed: bool | None = Field(None, description="Pass/fail; None for plain metrics.")
    value: float | int | str | bool | None = Field(None, description="Score or measured value.")
    rationale: str = Field("", description="Why, in plain language.")
    evidence: list[str] = Field(default_factory=list, description="Span ids used as evidence.")
    cost: JudgeCost = Field(default_factory=JudgeCost, description="The judge's own cost.")
    error: str | None = Field(None, description="What went wrong when status is error.")
    details: dict[str, Any] | None = Field(
        None,
        description="What the judge recorded beside its evidence spans: `tool_calls` (each call "
        "of a project tool: name, arguments, seconds, bytes, error, an excerpt of the result), "
        "`references` (the passages of reference documents it cited), `members` and "
        "`agreement` (an ensemble's member verdicts). None when there is nothing.",
    )
    created_at: float = Field(default_factory=time.time, description="Unix time.")

    def key(self) -> tuple[str, str, str]:
        return (self.trace_id, self.judge, self.judge_version)


class Outcome(BaseModel):
    """What a judge function returns; the engine turns it into a Verdict."""

    passed: bool | None = None
    value: Any = None
    rationale: str = ""
    evidence: list[str] = Field(default_factory=list)
    skipped: bool = False
    cost: JudgeCost = Field(default_factory=JudgeCost)
    details: dict[str, Any] | None = None


def skip(reason: str) -> Outcome:
    """The judge does not apply to this trace (for example, no such expectation)."""
    return Outcome(skipped=True, rationale=reason)
