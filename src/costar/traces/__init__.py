"""Traces: costar's span records, conversion to MLflow traces, the batched trace store, and
TraceView, the read API over a stored trace that judges and every later step use; what a run
records about itself (suite, drafts, dependencies); OpenTelemetry spans as span records.

This package is the only door to MLflow's traces and assessments: the other steps search,
read (`TraceStore.search`, `infos`, `views`) and label (`log_feedback`, `set_trace_tag`)
through the store, and read through the derived cache (`TraceCache`)."""

from costar.traces._autolog import autolog_captured, enable_autolog, tracing_off
from costar.traces._cache import TraceCache
from costar.traces._convert import SNAPSHOT_SPAN, storable_text, to_mlflow_spans, trial_spans
from costar.traces._infos import Assessment, TraceInfo
from costar.traces._llm_spans import record_llm_call
from costar.traces._model import (
    SIMULATOR_ERROR_TAG,
    SIMULATOR_SPAN,
    SIMULATOR_STOP_TAG,
    SIMULATOR_USAGE,
    TAG_PREFIX,
    TrialRecord,
    TrialStatus,
    Turn,
    last_reply,
    new_trace_id,
)
from costar.traces._otel import OtelSpan, from_readable, span_type, to_records
from costar.traces._record import (
    LIVE,
    Recorder,
    SpanRecord,
    Step,
    current_recorder,
    new_span_id,
    recording,
    span,
    tool,
)
from costar.traces._redact import Redactor
from costar.traces._run_tags import (
    DEPENDENCIES_TAG,
    DRAFTS_PARAM,
    SUITE_TAG,
    dependency_diff,
    run_manifest,
    suite_label,
)
from costar.traces._sqlite import ensure_sqlite_store, quiet_mlflow
from costar.traces._steps import (
    AGENT_ATTRIBUTE,
    KIND_ATTRIBUTE,
    REPLAYED_ATTRIBUTE,
    STEP_ATTRIBUTE,
    TraceStep,
    canonical,
    stored_spans,
    trace_steps,
)
from costar.traces._store import RunInfo, TraceRow, TraceStore
from costar.traces._view import (
    COMPACT_VERSION,
    READING_VERSION,
    SpanView,
    ToolCallView,
    TraceView,
    TurnView,
)
from costar.traces._writer import TraceWriter, WriteReport, load_spill, record_to_json
from costar.traces._writer_process import WriterProcess, start_writer_process

__all__ = [
    "SIMULATOR_ERROR_TAG",
    "SIMULATOR_SPAN",
    "SIMULATOR_STOP_TAG",
    "SIMULATOR_USAGE",
    "AGENT_ATTRIBUTE",
    "KIND_ATTRIBUTE",
    "LIVE",
    "REPLAYED_ATTRIBUTE",
    "STEP_ATTRIBUTE",
    "TraceStep",
    "canonical",
    "stored_spans",
    "trace_steps",
    "COMPACT_VERSION",
    "DEPENDENCIES_TAG",
    "DRAFTS_PARAM",
    "READING_VERSION",
    "SNAPSHOT_SPAN",
    "SUITE_TAG",
    "TAG_PREFIX",
    "OtelSpan",
    "Recorder",
    "Redactor",
    "RunInfo",
    "SpanRecord",
    "SpanView",
    "Step",
    "ToolCallView",
    "Assessment",
    "TraceCache",
    "TraceInfo",
    "TraceRow",
    "TraceStore",
    "TraceView",
    "TraceWriter",
    "TrialRecord",
    "TrialStatus",
    "Turn",
    "TurnView",
    "WriteReport",
    "WriterProcess",
    "autolog_captured",
    "current_recorder",
    "enable_autolog",
    "dependency_diff",
    "ensure_sqlite_store",
    "from_readable",
    "last_reply",
    "load_spill",
    "new_span_id",
    "new_trace_id",
    "quiet_mlflow",
    "record_llm_call",
    "record_to_json",
    "recording",
    "run_manifest",
    "span",
    "span_type",
    "start_writer_process",
    "storable_text",
    "suite_label",
    "to_mlflow_spans",
    "to_records",
    "tool",
    "tracing_off",
    "trial_spans",
]
