"""Capture MLflow spans made inside a Python agent (autolog, @mlflow.trace) into its trial.

With `autolog = ["openai", ...]` in costar.toml, costar switches on those MLflow autolog
flavours (`"tracing"` switches on none and only captures `@mlflow.trace` / `mlflow.start_span`
spans the agent makes itself) and runs each turn inside an MLflow span. MLflow's exporter, made
synchronous, writes that capture trace to a scratch store (`.costar/autolog.db`); costar reads
it back, re-parents its spans under the turn in the trial's own trace, and deletes the scratch
trace. Only public MLflow APIs are used. The cost is one write and one read per turn, paid only
when autolog is on. `tracing_off` keeps MLflow's own tracer out of the calls MLflow makes for
costar (judge alignment).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from costar._exceptions import ConfigError
from costar.config import Project
from costar.traces._record import Recorder, SpanRecord
from costar.traces._sqlite import quiet_mlflow
from costar.traces._view import own_attributes

CAPTURE = "costar.autolog.capture"
_lock = threading.Lock()
_ready: dict[str, Any] = {}


def enable_autolog(root: Path, flavours: list[str]) -> None:
    """Point MLflow's own tracer at the scratch store and switch on the autolog flavours."""
    with _lock:
        if _ready:
            return
        os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"  # write before returning
        import importlib

        import mlflow

        def bad(flavour: str, exc: Exception) -> ConfigError:
            return ConfigError(
                f"autolog flavour {flavour!r}: {exc} (install the SDK; names are MLflow's, "
                "e.g. openai, anthropic, langchain)"
            )

        # names first: a misspelt flavour is a usage error before any store is migrated
        modules = []
        for flavour in flavours:
            if flavour == "tracing":  # capture @mlflow.trace spans; no SDK to patch
                continue
            try:
                modules.append((flavour, importlib.import_module(f"mlflow.{flavour}")))
            except ImportError as exc:
                raise bad(flavour, exc) from exc
        scratch = Project.at(root).autolog_db
        scratch.parent.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(f"sqlite:///{scratch}")
        quiet_mlflow()
        experiment = mlflow.set_experiment("costar-autolog-capture")
        for flavour, module in modules:
            try:
                module.autolog()
            except (ImportError, AttributeError) as exc:
                raise bad(flavour, exc) from exc
        _ready["mlflow"] = mlflow
        _ready["experiment_id"] = experiment.experiment_id


def _record(span: Any, parents: dict[str, int], default_parent: int | None) -> SpanRecord:
    error = None
    if span.status.status_code.value == "ERROR":
        error = span.status.description or "error"
    return SpanRecord(
        name=span.name,
        span_type=span.span_type or "UNKNOWN",
        inputs=span.inputs,
        outputs=span.outputs,
        attributes=own_attributes(span),
        start_ns=int(span.start_time_ns),
        end_ns=int(span.end_time_ns or span.start_time_ns),
        error=error,
        span_id=int(span.span_id, 16),
        parent_id=parents.get(span.parent_id, default_parent),
    )


def autolog_captured(call: Callable[[], Any], recorder: Recorder) -> Any:
    """Run `call` inside an MLflow capture span; move the MLflow spans it made into `recorder`.

    The spans are moved and the scratch trace deleted whether `call` returns or raises, so an
    agent that fails keeps every step it took before the error.
    """
    mlflow = _ready["mlflow"]
    trace_id = None
    try:
        with mlflow.start_span(name=CAPTURE) as capture:
            trace_id = capture.trace_id
            return call()
    finally:
        if trace_id is not None:
            _move(mlflow, trace_id, recorder)


def _move(mlflow: Any, trace_id: str, recorder: Recorder) -> None:
    try:
        trace = mlflow.get_trace(trace_id)
        if trace is not None:
            spans = [s for s in trace.data.spans if s.name != CAPTURE or s.parent_id]
            known = {s.span_id: int(s.span_id, 16) for s in spans}
            for span in spans:
                recorder.add(_record(span, known, recorder.default_parent))
    finally:
        mlflow.MlflowClient().delete_traces(_ready["experiment_id"], trace_ids=[trace_id])


@contextlib.contextmanager
def tracing_off() -> Iterator[None]:
    """MLflow's own tracer off for the block: calls MLflow makes for costar (the alignment
    optimizers' judge calls) are not the project's traces."""
    import mlflow

    mlflow.tracing.disable()
    try:
        yield
    finally:
        mlflow.tracing.enable()
