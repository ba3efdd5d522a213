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


def escape(text: str) -> str:
    from rich.markup import escape as rich_escape

    return rich_escape(text)


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
    screen = console()
    grid = runs_table(f"runs in {settings.store_uri()}", rows, screen.width)
    screen.print(grid if rows else "no runs yet: start one with `costar run`")


def runs_table(title: str, rows: list[dict[str, Any]], width: int) -> Any:
    """The runs as a table; under a narrow terminal the run id shrinks to the 12-character
    prefix every command accepts, the counts share a column and the agent version sits under
    the run's name, so no column is squeezed to nothing."""
    counts = [[str(int(r["counts"].get(k, 0))) for k in ("ok", "error", "timeout")] for r in rows]
    wide = [len(r["run_id"]) + len(r["name"]) + len(r["agent_version"]) for r in rows]
    if max(wide, default=0) + 70 <= width:
        values = ["status", "started", "ok", "error", "timeout", "agent version"]
        grid = table(title, ["run id", "name"], values)
        for r, n in zip(rows, counts, strict=True):
            cells = [r["run_id"], escape(r["name"]), r["status"], r["started"], *n]
            grid.add_row(*cells, r["agent_version"])
        return grid
    grid = table(title, ["run"], ["name / agent version", "status", "started", "ok/err/to"])
    grid.columns[2].no_wrap = grid.columns[3].no_wrap = grid.columns[4].no_wrap = True
    for r, n in zip(rows, counts, strict=True):
        started = r["started"][5:16].replace("T", " ")
        name = f"{escape(r['name'])}\n[dim]{r['agent_version']}[/]"
        grid.add_row(r["run_id"][:12], name, r["status"], started, "/".join(n))
    return grid


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
    ident: Annotated[
        str,
        typer.Argument(
            metavar="RUN_OR_TRACE",
            help="A run id or a trace id (tr-...), in full or a unique prefix.",
        ),
    ],
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Show a run or a trace.

    A trace (tr-...) prints as a person reads it: each user turn, the model calls with their
    tokens, the tool calls with arguments and results, failed tools, the agent's replies, the
    error and its traceback when the trial failed, the final state (database tables and
    files), and the trace's verdicts with their rationale; the spans a verdict cites as
    evidence are marked in the conversation. Secrets are redacted as in the report.

    A run prints its settings, each scenario's trials with their full trace ids, and the reason
    of every trial that ended in error or timeout.
    """
    from costar.report import resolve_id

    settings, store = open_store(tracking_uri, experiment)
    found = resolve_id(store, ident)
    if found.kind == "trace":
        _show_trace(settings, store, found.id, as_json)
    else:
        _show_run(settings, store, found.run, as_json)


def _show_trace(settings: Any, store: Any, trace_id: str, as_json: bool) -> None:
    from costar.assess import VerdictStore
    from costar.report import trace_transcript, transcript_renderables

    shown = trace_transcript(
        store, VerdictStore(settings.verdict_url()), trace_id, redact=settings.redact
    )
    if as_json:
        emit_json(shown.to_json())
        return
    out = console()
    for part in transcript_renderables(shown):
        out.print(part, highlight=False)


def _show_run(settings: Any, store: Any, info: Any, as_json: bool) -> None:
    from rich.text import Text

    from costar.report import failed_trials

    traces = store.run_traces(info.run_id)
    data = _run_json(info)
    per: dict[str, dict[str, Any]] = {}
    for t in sorted(traces, key=lambda t: (t.scenario_id, t.trial)):
        entry = per.setdefault(t.scenario_id, {"ok": 0, "error": 0, "timeout": 0, "traces": []})
        entry[t.status] = entry.get(t.status, 0) + 1
        entry["traces"].append({"trial": t.trial, "status": t.status, "trace_id": t.trace_id})
    data["traces"] = len(traces)
    data["scenarios"] = per
    data["failures"] = failed_trials(store, info.run_id, settings.redact)
    if as_json:
        emit_json(data)
        return
    out = console()
    out.print(f"[bold]run {data['run_id']}[/] {escape(data['name'])} ({data['status']})")
    out.print(f"agent: {escape(data['agent'])}  version: {escape(data['agent_version'])}")
    out.print(
        f"suite: {escape(data['suite'])}  hash: {data['suite_hash']}  trials: {data['trials']}",
        soft_wrap=True,
    )
    grid = table(None, ["scenario"], ["ok", "error", "timeout", "trace ids"])
    for sid, entry in per.items():
        ids = "\n".join(
            t["trace_id"] + ("" if t["status"] == "ok" else f" ({t['status']})")
            for t in entry["traces"]
        )
        grid.add_row(
            Text(sid), str(entry["ok"]), str(entry["error"]), str(entry["timeout"]), Text(ids)
        )
    out.print(grid)
    out.print(f"{len(traces)} traces stored; `costar show TRACE_ID` prints one")
    for f in data["failures"]:
        line = Text(f["status"], style="red")
        line.append(f" {f['scenario_id']}#{f['trial']} {f['trace_id']}: ")
        line.append(f["error"] or "no reason recorded")
        out.print(line, soft_wrap=True, highlight=False)


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
