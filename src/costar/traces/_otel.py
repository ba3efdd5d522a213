"""OpenTelemetry spans to costar spans, reading the two conventions agents use for LLM work:
OpenTelemetry GenAI (`gen_ai.*`) and OpenInference (`openinference.span.kind`, `llm.*`,
`input.value`, ...).

The kind of a span comes from `openinference.span.kind` or `gen_ai.operation.name`; model calls
become CHAT_MODEL spans with `mlflow.chat.tokenUsage` and `mlflow.llm.model`; tool executions
become TOOL spans named after the tool with its arguments and result. Other spans keep their
name and attributes as UNKNOWN (or CHAIN/AGENT) steps. Spans whose parent is not among those
converted hang under the turn. Aggregated usage on agent spans (`gen_ai.aggregated_usage.*`)
is not read as a model call.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from costar.traces._record import SpanRecord

_OPENINFERENCE = {
    "LLM": "CHAT_MODEL",
    "TOOL": "TOOL",
    "CHAIN": "CHAIN",
    "AGENT": "AGENT",
    "RETRIEVER": "RETRIEVER",
    "EMBEDDING": "EMBEDDING",
    "RERANKER": "RERANKER",
}
_GENAI = {
    "chat": "CHAT_MODEL",
    "text_completion": "CHAT_MODEL",
    "generate_content": "CHAT_MODEL",
    "execute_tool": "TOOL",
    "invoke_agent": "AGENT",
    "create_agent": "AGENT",
    "embeddings": "EMBEDDING",
}
_TOOL_ARGS = ("gen_ai.tool.call.arguments", "tool_arguments", "input.value", "tool.parameters")
_TOOL_RESULT = ("gen_ai.tool.call.result", "tool_response", "output.value")
_LLM_IN = ("gen_ai.input.messages", "gen_ai.prompt", "input.value", "llm.input_messages")
_LLM_OUT = ("gen_ai.output.messages", "gen_ai.completion", "output.value", "llm.output_messages")
_MODEL = ("gen_ai.response.model", "gen_ai.request.model", "llm.model_name")


@dataclass
class OtelSpan:
    """An OpenTelemetry span in plain form (from the SDK or decoded from OTLP)."""

    name: str
    span_id: int
    parent_id: int | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def _first(attrs: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in attrs:
            return _parsed(attrs[key])
    return None


def _parsed(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _usage(attrs: dict[str, Any]) -> dict[str, int] | None:
    pairs = (
        ("gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"),
        ("gen_ai.usage.prompt_tokens", "gen_ai.usage.completion_tokens"),
        ("llm.token_count.prompt", "llm.token_count.completion"),
    )
    for key_in, key_out in pairs:
        if key_in in attrs or key_out in attrs:
            tokens_in, tokens_out = int(attrs.get(key_in) or 0), int(attrs.get(key_out) or 0)
            return {
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            }
    return None


def span_type(attrs: dict[str, Any]) -> str:
    """costar's (MLflow's) span type for an OpenTelemetry span's attributes."""
    kind = str(attrs.get("openinference.span.kind", "")).upper()
    if kind in _OPENINFERENCE:
        return _OPENINFERENCE[kind]
    return _GENAI.get(str(attrs.get("gen_ai.operation.name", "")), "UNKNOWN")


def to_records(spans: list[OtelSpan], default_parent: int | None) -> list[SpanRecord]:
    """costar SpanRecords for a batch of OpenTelemetry spans (parents kept where known)."""
    known = {s.span_id for s in spans}
    out = []
    for s in spans:
        attrs = dict(s.attributes)
        kind = span_type(attrs)
        name, inputs, outputs = s.name, _parsed(attrs.get("input.value")), None
        if kind == "TOOL":
            name = str(attrs.get("gen_ai.tool.name") or attrs.get("tool.name") or s.name)
            inputs, outputs = _first(attrs, _TOOL_ARGS), _first(attrs, _TOOL_RESULT)
        elif kind == "CHAT_MODEL":
            inputs, outputs = _first(attrs, _LLM_IN), _first(attrs, _LLM_OUT)
            if usage := _usage(attrs):
                attrs["mlflow.chat.tokenUsage"] = usage
            if model := _first(attrs, _MODEL):
                attrs["mlflow.llm.model"] = model
        else:
            outputs = _parsed(attrs.get("output.value"))
        attrs.pop("costar.turn", None)  # only costar marks its own turns
        out.append(
            SpanRecord(
                name=name,
                span_type=kind,
                inputs=inputs,
                outputs=outputs,
                attributes=attrs,
                start_ns=s.start_ns,
                end_ns=s.end_ns,
                error=s.error,
                span_id=s.span_id,
                parent_id=s.parent_id if s.parent_id in known else default_parent,
            )
        )
    return out


def from_readable(span: Any) -> OtelSpan:
    """An OtelSpan from an OpenTelemetry SDK ReadableSpan."""
    error = None
    if span.status.status_code.name == "ERROR":
        error = span.status.description or _exception_message(
            [(e.name, dict(e.attributes or {})) for e in span.events]
        )
    return OtelSpan(
        name=span.name,
        span_id=span.context.span_id,
        parent_id=span.parent.span_id if span.parent is not None else None,
        start_ns=int(span.start_time or 0),
        end_ns=int(span.end_time or span.start_time or 0),
        attributes=dict(span.attributes or {}),
        error=error,
    )


def _exception_message(events: list[tuple[str, dict[str, Any]]]) -> str:
    for name, attrs in events:
        if name == "exception":
            kind = attrs.get("exception.type", "")
            message = attrs.get("exception.message", "")
            return f"{kind}: {message}" if kind else str(message or "error")
    return "error"
