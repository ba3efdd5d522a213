"""The JSON-lines event protocol: how command and HTTP agents report their steps.

A command agent finds the path of its event file in `COSTAR_EVENTS` and appends one JSON object
per line, each a finished step::

    {"type": "tool", "name": "lookup_order", "args": {"order_id": 1042},
     "result": {"status": "delivered"}, "start": 1732270000.12, "end": 1732270000.15}
    {"type": "tool", "name": "issue_refund", "args": {...}, "error": "order not found"}
    {"type": "llm", "name": "chat", "model": "gpt-4.1-mini", "messages": [...],
     "output": "...", "usage": {"input_tokens": 812, "output_tokens": 64}}
    {"type": "step", "name": "plan", "inputs": ..., "outputs": ...}

Optional fields: `id` and `parent` (any strings) nest steps; `start`/`end` are Unix seconds
(default: when costar read the line); `attributes` is a free-form object. An HTTP agent may put
the same objects in a `costar_events` list in its response. A line may also be an OTLP JSON
trace export (`{"resourceSpans": [...]}`, OpenInference or GenAI conventions), read as spans.
A line costar cannot read is kept in the trace as a step named `costar.bad_event`, never
silently dropped.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from costar.traces import SpanRecord, new_span_id

_TYPES = {"tool": "TOOL", "llm": "CHAT_MODEL", "step": "UNKNOWN", "retriever": "RETRIEVER"}


class AgentEvent(BaseModel):
    """One finished step reported by an agent (a line of the event file)."""

    model_config = ConfigDict(extra="allow")

    type: Literal["tool", "llm", "step", "retriever"] = Field(description="Kind of step.")
    name: str | None = Field(None, description="Tool, model call or step name.")
    id: str | None = Field(None, description="The step's own id, for nesting.")
    parent: str | None = Field(None, description="Id of the enclosing step.")
    start: float | None = Field(None, description="Unix seconds when the step began.")
    end: float | None = Field(None, description="Unix seconds when the step ended.")
    args: Any = Field(None, description="Tool arguments.")
    result: Any = Field(None, description="Tool result.")
    error: str | None = Field(None, description="Error message if the step failed.")
    model: str | None = Field(None, description="LLM model name.")
    messages: Any = Field(None, description="LLM input messages.")
    output: Any = Field(None, description="LLM output.")
    usage: dict[str, int] | None = Field(None, description="input_tokens, output_tokens, ...")
    inputs: Any = Field(None, description="Step inputs.")
    outputs: Any = Field(None, description="Step outputs.")
    attributes: dict[str, Any] = Field(default_factory=dict, description="Extra attributes.")


def _to_ns(seconds: float | None, default: int) -> int:
    return int(seconds * 1e9) if seconds is not None else default


def events_to_spans(events: list[Any], default_parent: int | None) -> list[SpanRecord]:
    """SpanRecords for raw event objects (dicts or JSON strings), in order."""
    spans: list[SpanRecord] = []
    ids: dict[str, int] = {}
    pending_parents: list[tuple[SpanRecord, str]] = []
    now = time.time_ns()
    for raw in events:
        try:
            data = json.loads(raw) if isinstance(raw, str) else raw
            if isinstance(data, dict) and "resourceSpans" in data:
                from costar.agents._otlp import spans_from_json
                from costar.traces import to_records

                spans.extend(to_records(spans_from_json(data), default_parent))
                continue
            event = AgentEvent.model_validate(data)
        except (ValueError, ValidationError, KeyError, TypeError, AttributeError) as exc:
            text = raw if isinstance(raw, str) else json.dumps(raw, default=repr)
            spans.append(
                SpanRecord(
                    name="costar.bad_event",
                    inputs=text[:2000],
                    error=f"unreadable event: {str(exc).splitlines()[0]}",
                    start_ns=now,
                    end_ns=now,
                    parent_id=default_parent,
                )
            )
            continue
        attributes = dict(event.attributes)
        if event.type == "tool":
            inputs, outputs = event.args, event.result
        elif event.type == "llm":
            inputs, outputs = event.messages, event.output
            if event.model:
                attributes["mlflow.llm.model"] = event.model
            if event.usage:
                usage = dict(event.usage)
                usage.setdefault(
                    "total_tokens", usage.get("input_tokens", 0) + usage.get("output_tokens", 0)
                )
                attributes["mlflow.chat.tokenUsage"] = usage
        else:
            inputs, outputs = event.inputs, event.outputs
        start = _to_ns(event.start, now)
        span = SpanRecord(
            name=event.name or event.type,
            span_type=_TYPES[event.type],
            inputs=inputs,
            outputs=outputs,
            attributes=attributes,
            start_ns=start,
            end_ns=_to_ns(event.end, start),
            error=event.error,
            span_id=new_span_id(),
            parent_id=default_parent,
        )
        if event.id:
            ids[event.id] = span.span_id
        if event.parent:
            pending_parents.append((span, event.parent))
        spans.append(span)
    for span, parent in pending_parents:
        span.parent_id = ids.get(parent, default_parent)
    return spans


class EventFile:
    """An agent's event file, read after each turn for the lines that turn added."""

    def __init__(self, path: Path):
        self.path = path
        self._offset = 0
        path.touch()

    def read_new(self, default_parent: int | None) -> list[SpanRecord]:
        """Steps written since the last read (the agent process has exited by then)."""
        with self.path.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        self._offset += len(data)
        lines = [ln for ln in data.decode("utf-8", errors="replace").splitlines() if ln.strip()]
        return events_to_spans(lines, default_parent)
