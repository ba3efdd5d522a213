"""`costar runs`, `costar show` and `costar schema`: what is stored, and its formats."""

from __future__ import annotations

import datetime as _dt
import json
from typing import Annotated, Any

import typer

from costar._exceptions import ConfigError
from costar.cli._options import Experiment, JsonFlag, TrackingUri, open_store
from costar.cli._output import emit_json
from costar.cli._render import console, table


def runs(
    limit: Annotated[int, typer.Option("--limit", help="How many runs, newest first.")] = 20,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """List recorded runs, newest first."""
    settings, store = open_store(tracking_uri, experiment)
    found = store.list_runs(limit)
    rows = [_run_json(r) for r in found]
    if as_json:
        emit_json(rows)
        return
    grid = table(
        f"runs in {settings.store_uri()}",
        ["run id", "name"],
        ["status", "started", "ok", "error", "timeout", "agent version"],
    )
    for r in rows:
        grid.add_row(
            r["run_id"][:12],
            r["name"],
            r["status"],
            r["started"],
            *(str(int(r["counts"].get(k, 0))) for k in ("ok", "error", "timeout")),
            r["agent_version"],
        )
    console().print(grid if rows else "no runs yet: start one with `costar run`")


def _run_json(r: Any) -> dict[str, Any]:
    started = _dt.datetime.fromtimestamp(r.start_time).isoformat(timespec="seconds")
    return {
        "run_id": r.run_id,
        "name": r.name,
        "status": r.status,
        "started": started,
        "agent": r.params.get("agent", ""),
        "agent_version": r.params.get("agent_version", ""),
        "suite": r.params.get("suite", ""),
        "suite_hash": r.params.get("suite_hash", ""),
        "trials": int(r.params.get("trials", 0) or 0),
        "counts": {
            k.removeprefix("trials_"): v for k, v in r.metrics.items() if k.startswith("trials_")
        },
        "wall_seconds": r.metrics.get("wall_seconds"),
    }


def show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Summarise one run: its settings and each scenario's trials as stored."""
    _, store = open_store(tracking_uri, experiment)
    info = store.get_run(run_id)
    traces = store.run_traces(info.run_id)
    data = _run_json(info)
    per: dict[str, dict[str, Any]] = {}
    for t in sorted(traces, key=lambda t: (t.scenario_id, t.trial)):
        entry = per.setdefault(t.scenario_id, {"ok": 0, "error": 0, "timeout": 0, "traces": []})
        entry[t.status] = entry.get(t.status, 0) + 1
        entry["traces"].append({"trial": t.trial, "status": t.status, "trace_id": t.trace_id})
    data["traces"] = len(traces)
    data["scenarios"] = per
    if as_json:
        emit_json(data)
        return
    out = console()
    out.print(f"[bold]run {data['run_id']}[/] {data['name']} ({data['status']})")
    out.print(f"agent: {data['agent']}  version: {data['agent_version']}")
    out.print(f"suite: {data['suite']}  hash: {data['suite_hash']}  trials: {data['trials']}")
    grid = table(None, ["scenario"], ["ok", "error", "timeout", "trace ids"])
    for sid, entry in per.items():
        ids = " ".join(t["trace_id"][:11] for t in entry["traces"][:3])
        grid.add_row(sid, str(entry["ok"]), str(entry["error"]), str(entry["timeout"]), ids)
    out.print(grid)
    out.print(f"{len(traces)} traces stored")


def schema(
    kind: Annotated[
        str, typer.Argument(help="Which schema: scenario (the YAML files) or event (agent events).")
    ] = "scenario",
) -> None:
    """Print a JSON Schema, for editor completion and validation of YAML files."""
    if kind == "scenario":
        from costar.scenarios import Scenario

        data = Scenario.model_json_schema(by_alias=True)
    elif kind == "event":
        from costar.agents import AgentEvent

        data = AgentEvent.model_json_schema()
    else:
        raise ConfigError(f"unknown schema {kind!r} (use 'scenario' or 'event')")
    typer.echo(json.dumps(data, indent=2))
