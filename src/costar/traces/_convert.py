"""Turn a TrialRecord into MLflow span entities (MLflow's attribute conventions).

Root span (AGENT): the scenario's turns in, the last reply out, status and error (with the
exception's type, message and traceback when a Python agent raised), the agent's stdout and
stderr; trace tags ride on it as `mlflow.traceTag.*` attributes, which MLflow's `log_spans` turns
into trace tags. Each turn that ran is a CHAIN span carrying `costar.turn` (its number): the only
spans judges read as turns; tool, LLM and framework spans hang under their turn. The final-state
snapshot is a child span `final_state` whose outputs are the snapshot.
"""

from __future__ import annotations

import json
import re
from typing import Any

from costar.traces._model import TrialRecord
from costar.traces._record import SpanRecord, new_span_id
from costar.traces._redact import Redactor

# the name of the span that holds the final workspace state
SNAPSHOT_SPAN = "final_state"
_REQUEST_ID = "mlflow.traceRequestId"
_SPAN_TYPE = "mlflow.spanType"
_INPUTS = "mlflow.spanInputs"
_OUTPUTS = "mlflow.spanOutputs"
_TAG = "mlflow.traceTag."
_MAX_ATTR = 2_000_000  # characters; larger values are cut with a marker


_SURROGATE = re.compile("[\ud800-\udfff]")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _joined(pair: re.Match[str]) -> str:
    high, low = (ord(c) for c in pair[0])
    return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))


def storable_text(text: str, backslash: str = "\\") -> str:
    """`text` made valid UTF-8 without losing anything: surrogate code points (which an agent's
    reply or a decoded byte string can hold, and no store can encode) are escaped, not dropped.

    A high+low pair becomes the character it encodes; a lone one becomes the visible text
    `\\ud800`. `backslash` is what starts the escape (a doubled one inside JSON text).
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    text = _PAIR.sub(_joined, text)
    return _SURROGATE.sub(lambda m: f"{backslash}u{ord(m[0]):04x}", text)


def _dump(value: Any) -> str:
    text = storable_text(json.dumps(value, default=repr, ensure_ascii=False), "\\\\")
    if len(text) > _MAX_ATTR:
        cut = text[:_MAX_ATTR]
        text = json.dumps(f"{cut}...[costar: truncated {len(text) - _MAX_ATTR} characters]")
    return text


def trial_spans(record: TrialRecord) -> list[SpanRecord]:
    """Every span of the trial in costar's own form, root first."""
    root_id = record.root_span_id or new_span_id()
    record.root_span_id = root_id
    multi = len(record.turns) > 1
    root = SpanRecord(
        name=record.scenario_id,
        span_type="AGENT",
        inputs={"turns": [t.user for t in record.turns]}
        if multi
        else (record.turns[0].user if record.turns else None),  # a simulated user said nothing
        outputs=record.output,
        start_ns=record.start_ns,
        end_ns=record.end_ns,
        error=record.error,
        span_id=root_id,
        attributes={
            "costar.status": record.status,
            **({"costar.stderr": record.stderr} if record.stderr else {}),
            **({"costar.stdout": record.stdout} if record.stdout else {}),
            **{f"costar.exception.{k}": v for k, v in (record.exception or {}).items()},
            **{f"{_TAG}{k}": v for k, v in record.all_tags().items()},
            f"{_TAG}mlflow.traceName": record.scenario_id,
        },
    )
    spans = [root]
    for index, turn in enumerate(record.turns):
        if turn.start_ns:  # turns after a failed one never ran
            spans.append(
                SpanRecord(
                    name=f"turn-{index + 1}",
                    span_type="CHAIN",
                    inputs=turn.user,
                    outputs=turn.reply,
                    start_ns=turn.start_ns,
                    end_ns=turn.end_ns or turn.start_ns,
                    error=turn.error,
                    span_id=turn.span_id or new_span_id(),
                    parent_id=root_id,
                    attributes={"costar.turn": index + 1},
                )
            )
    for span in record.spans:
        if span.parent_id is None:
            span.parent_id = root_id
        spans.append(span)
    if record.snapshot is not None:
        spans.append(
            SpanRecord(
                name=SNAPSHOT_SPAN,
                span_type="UNKNOWN",
                outputs=record.snapshot,
                start_ns=record.end_ns,
                end_ns=record.end_ns,
                parent_id=root_id,
            )
        )
    return spans


def to_mlflow_spans(record: TrialRecord, redactor: Redactor | None = None) -> list[Any]:
    """MLflow `Span` entities for one trial, ready for the store's `log_spans`, secrets
    redacted (by `redactor`, default the built-in patterns and secret environment values)."""
    from mlflow.entities import Span
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import Event, ReadableSpan
    from opentelemetry.trace import SpanContext, Status, StatusCode, TraceFlags

    otel_trace_id = int(record.trace_id.removeprefix("tr-"), 16)
    request_id = json.dumps(record.trace_id)
    empty = Resource.get_empty()

    def context(span_id: int) -> SpanContext:
        return SpanContext(otel_trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))

    out = []
    redact = redactor or Redactor()
    for span in redact.spans(trial_spans(record)):
        attributes = {storable_text(k): _dump(v) for k, v in span.attributes.items()}
        attributes[_REQUEST_ID] = request_id
        attributes[_SPAN_TYPE] = json.dumps(span.span_type)
        if span.inputs is not None:
            attributes[_INPUTS] = _dump(span.inputs)
        if span.outputs is not None:
            attributes[_OUTPUTS] = _dump(span.outputs)
        events = []
        error = storable_text(span.error) if span.error else None
        if error:
            status = Status(StatusCode.ERROR, error[:1000])
            kind, _, message = error.partition(": ")
            detail = {"exception.type": kind, "exception.message": message or error}
            if span.span_id == record.root_span_id and record.exception:
                detail = {
                    f"exception.{k}": storable_text(redact.text(str(v)))
                    for k, v in record.exception.items()
                }
            events.append(Event("exception", detail, timestamp=span.end_ns or span.start_ns))
        else:
            status = Status(StatusCode.OK)
        out.append(
            Span(
                ReadableSpan(
                    name=storable_text(span.name),
                    context=context(span.span_id),
                    parent=context(span.parent_id) if span.parent_id else None,
                    attributes=attributes,
                    events=events,
                    start_time=span.start_ns,
                    end_time=span.end_ns or span.start_ns,
                    status=status,
                    resource=empty,
                )
            )
        )
    return out
