"""A stored trace as numbered steps: user turns, model calls and tool calls, in order.

Replay matches a new trial's calls to these steps, and attribution names a step by its number,
so both read a trace the same way. Spans that carry `costar.step` (an imported conversation
keeps each message's index there) are numbered by it; otherwise the steps are costar's turn
spans, the innermost model-call spans and the tool spans, in start order, numbered from 1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

StepKind = Literal["user_turn", "llm", "tool"]
STEP_ATTRIBUTE = "costar.step"  # the step index an imported span keeps
KIND_ATTRIBUTE = "costar.step_kind"  # user_turn | llm | tool, when the span type cannot say
AGENT_ATTRIBUTE = "costar.agent"  # which agent of a multi-agent log spoke
REPLAYED_ATTRIBUTE = "costar.replayed"  # set on a span whose result replay served
_LLM_TYPES = ("LLM", "CHAT_MODEL")


@dataclass(frozen=True)
class TraceStep:
    """One step of a trace: its number, kind, span and what went in and came out."""

    index: int
    kind: StepKind
    span_id: str
    name: str
    inputs: Any = None
    outputs: Any = None
    error: str | None = None
    agent: str | None = None

    def key(self) -> str:
        """What a call is matched by (with its occurrence): tool name and arguments as
        canonical JSON; a model call by position alone."""
        return "llm" if self.kind == "llm" else f"{self.name}:{canonical(self.inputs)}"


def canonical(value: Any) -> str:
    """`value` as canonical JSON (sorted keys), how tool arguments are compared."""
    return json.dumps(value, sort_keys=True, default=repr, ensure_ascii=False)


def _kind(span: Any) -> StepKind | None:
    attrs = getattr(span, "attributes", None) or {}
    if attrs.get(KIND_ATTRIBUTE) in ("user_turn", "llm", "tool"):
        return attrs[KIND_ATTRIBUTE]
    if span.span_type == "TOOL":
        return "tool"
    if span.span_type in _LLM_TYPES:
        return "llm"
    if span.span_type == "CHAIN" and "costar.turn" in attrs:
        return "user_turn"
    return None


def trace_steps(spans: list[Any]) -> list[TraceStep]:
    """The numbered steps of a trace's spans (objects with span_id, parent_id, name, span_type,
    start_ns, inputs, outputs, error and attributes, as TraceView's SpanView has)."""
    marked = [s for s in spans if STEP_ATTRIBUTE in (s.attributes or {})]
    if marked:
        ordered = sorted(marked, key=lambda s: int(s.attributes[STEP_ATTRIBUTE]))
        numbers = [int(s.attributes[STEP_ATTRIBUTE]) for s in ordered]
    else:
        llm_parents = {s.parent_id for s in spans if s.span_type in _LLM_TYPES}
        ordered = [
            s
            for s in sorted(spans, key=lambda s: (s.start_ns, s.parent_id is not None))
            if _kind(s) is not None and not (_kind(s) == "llm" and s.span_id in llm_parents)
        ]
        numbers = list(range(1, len(ordered) + 1))
    steps = []
    for number, span in zip(numbers, ordered, strict=True):
        kind = _kind(span) or "llm"
        attrs = span.attributes or {}
        inputs = span.inputs
        if kind == "user_turn" and isinstance(inputs, dict) and "user" in inputs:
            inputs = inputs["user"]
        steps.append(
            TraceStep(
                index=number,
                kind=kind,
                span_id=str(span.span_id),
                name=span.name,
                inputs=inputs,
                outputs=span.outputs,
                error=span.error,
                agent=attrs.get(AGENT_ATTRIBUTE),
            )
        )
    return steps


def stored_spans(trace: Any) -> list[Any]:
    """An mlflow.entities.Trace's spans in the shape `trace_steps` reads (TraceView's)."""
    from costar.traces._view import TraceView

    return list(TraceView.from_mlflow(trace).spans)
