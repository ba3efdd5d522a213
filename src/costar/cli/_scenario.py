"""`costar scenario from-trace`: candidate scenario files from production traces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costar._exceptions import ConfigError
from costar.cli._options import Experiment, JsonFlag, TrackingUri, load_settings
from costar.cli._output import emit_json


def from_trace(
    trace_ids: Annotated[
        list[str] | None, typer.Argument(help="Trace ids to turn into scenarios.")
    ] = None,
    from_alerts: Annotated[
        Path | None, typer.Option("--from-alerts", help="Use the example traces of these alerts.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder (default: SUITE/production).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing files.")] = False,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Write candidate scenario files from production traces: the user's turns, the initial
    state when the trace recorded it (tag costar.setup), expectation skeletons from the failing
    verdicts; tagged production and regression. Review them, then keep them in the suite."""
    from costar.assess import VerdictStore
    from costar.monitor import trace_ids_from_alerts, write_scenarios
    from costar.traces import TraceStore

    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    ids = list(trace_ids or [])
    if from_alerts is not None:
        if not from_alerts.exists():
            raise ConfigError(f"{from_alerts}: no such alerts file")
        ids += trace_ids_from_alerts(from_alerts)
    if not ids:
        raise ConfigError("name TRACE_IDs or --from-alerts FILE")
    store = TraceStore(settings.store_uri(), settings.experiment)
    views = store.views(ids)
    missing = sorted(set(ids) - {v.trace_id for v in views})
    if missing:
        raise ConfigError(f"no such trace in {settings.store_uri()}: {', '.join(missing[:5])}")
    verdicts = VerdictStore(settings.verdict_url()).for_traces(ids)
    target = out or settings.resolve(settings.suite) / "production"
    done = write_scenarios(views, verdicts, target, force)
    if as_json:
        emit_json([{"id": s, "path": str(p), "written": w} for s, p, w in done])
        return
    for sid, path, written in done:
        typer.echo(f"{'wrote' if written else 'kept existing'} {path} ({sid})")
