"""Traces: costar's span records, conversion to MLflow traces, and the batched trace store."""

from costar.traces._convert import SNAPSHOT_SPAN, storable_text, to_mlflow_spans, trial_spans
from costar.traces._model import (
    SIMULATOR_ERROR_TAG,
    SIMULATOR_SPAN,
    SIMULATOR_STOP_TAG,
    SIMULATOR_USAGE,
    TAG_PREFIX,
    TrialRecord,
    TrialStatus,
    Turn,
    new_trace_id,
)
from costar.traces._record import (
    Recorder,
    SpanRecord,
    Step,
    current_recorder,
    new_span_id,
    recording,
    span,
    tool,
)
from costar.traces._store import (
    RunInfo,
    TraceRow,
    TraceStore,
    ensure_sqlite_store,
    quiet_mlflow,
)
from costar.traces._writer import TraceWriter, WriteReport, load_spill, record_to_json

__all__ = [
    "SIMULATOR_ERROR_TAG",
    "SIMULATOR_SPAN",
    "SIMULATOR_STOP_TAG",
    "SIMULATOR_USAGE",
    "SNAPSHOT_SPAN",
    "TAG_PREFIX",
    "Recorder",
    "RunInfo",
    "SpanRecord",
    "Step",
    "TraceRow",
    "TraceStore",
    "TraceWriter",
    "TrialRecord",
    "TrialStatus",
    "Turn",
    "WriteReport",
    "current_recorder",
    "ensure_sqlite_store",
    "load_spill",
    "new_span_id",
    "new_trace_id",
    "quiet_mlflow",
    "record_to_json",
    "recording",
    "span",
    "storable_text",
    "to_mlflow_spans",
    "tool",
    "trial_spans",
]
