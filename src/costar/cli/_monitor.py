"""`costar monitor` and `costar scenario from-trace`: production traffic."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import ConfigError, CostarError, ExitCode
from costar.cli._app import Experiment, JsonFlag, TrackingUri, _settings, app
from costar.cli._output import emit_json, exit_code, fail

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """Seconds from '90', '30s', '15m', '1h' or '1d'."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text)
    if not found or int(found.group(1)) <= 0:
        raise ConfigError(f"duration {text!r}: use a number with s, m, h or d (for example 1h)")
    return int(found.group(1)) * _UNITS[found.group(2) or "s"]


def _alerted(path: Path) -> set[str]:
    return set(json.loads(path.read_text())) if path.exists() else set()


@app.command()
def monitor(
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    name: Annotated[
        str | None, typer.Option("--name", help="Names the cursor (default: the experiment).")
    ] = None,
    sample: Annotated[
        float, typer.Option("--sample", help="Share of traces LLM and agentic judges score.")
    ] = 0.1,
    sample_checks: Annotated[
        float, typer.Option("--sample-checks", help="Share of traces checks and metrics score.")
    ] = 1.0,
    window: Annotated[
        str, typer.Option("--window", help="Window of trace time: 15m, 1h, 1d.")
    ] = "1h",
    lag: Annotated[
        str, typer.Option("--lag", help="How late a trace may be logged and still be read.")
    ] = "5m",
    follow: Annotated[
        bool, typer.Option("--follow/--once", help="Keep watching, or one pass (default).")
    ] = False,
    interval: Annotated[
        str, typer.Option("--interval", help="--follow: time between passes.")
    ] = "60s",
    judge: Annotated[
        list[str] | None, typer.Option("--judge", "-j", help="Only these judges (repeat).")
    ] = None,
    alerts_file: Annotated[
        Path | None,
        typer.Option(
            "--alerts",
            help="JSON-lines file alerts are appended to (default: "
            ".costar/monitor/NAME-alerts.jsonl).",
        ),
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST each pass's alerts as JSON here.")
    ] = None,
    alpha: Annotated[
        float, typer.Option("--alpha", help="Significance level of the tests.")
    ] = 0.01,
    baseline_windows: Annotated[
        int, typer.Option("--baseline-windows", help="Windows before a window form its baseline.")
    ] = 3,
    no_mirror: Annotated[
        bool, typer.Option("--no-mirror", help="Do not write verdicts onto the traces.")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Score new production traces with the project's judges, per window of trace time, and
    alert on drift.

    Reads the experiment's new traces through a cursor saved in .costar/monitor/ (nothing
    skipped or counted twice across crashes and restarts). Sampling is by a hash of the trace
    id: checks and metrics score every trace, LLM judges --sample of them. Verdicts go to the
    verdict store and onto the traces as MLflow Feedback. Per window: pass rates with 95%
    intervals, metric medians and p90, judge error rates. Alerts (Fisher exact tests against
    the --baseline-windows before; a robust z-score for cost and tokens per conversation) go to
    the terminal, --alerts and --webhook. Exit 0 quiet, 1 alerts raised (--once).
    """
    from costar.assess import VerdictStore
    from costar.judges import load_judges
    from costar.monitor import (
        AlertPolicy,
        MonitorConfig,
        alerts_for,
        monitor_pass,
        send,
    )
    from costar.traces import TraceStore

    try:
        settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
        label = name or settings.experiment
        folder = settings.root / ".costar" / "monitor"
        store = TraceStore(settings.store_uri(), settings.experiment)
        verdicts = VerdictStore(settings.verdict_url(), settings.redact)
        cfg = MonitorConfig(
            name=label,
            store=store,
            verdicts=verdicts,
            judges=load_judges(settings.root, settings.judges, judge or None),
            cursor_path=folder / f"{label}.json",
            sample=sample,
            sample_checks=sample_checks,
            window_s=parse_duration(window),
            lag_s=parse_duration(lag),
            mirror=not no_mirror,
        )
        pause = parse_duration(interval)
        policy = AlertPolicy(alpha=alpha, baseline_windows=baseline_windows)
        sink = alerts_file or folder / f"{label}-alerts.jsonl"
        raised = 0
        while True:
            result = monitor_pass(cfg)
            found, stats = alerts_for(verdicts, label, result.windows, policy)
            seen_path = folder / f"{label}-alerted.json"
            seen = _alerted(seen_path)
            fresh = [a for a in found if f"{a.kind}|{a.subject}|{a.window}" not in seen]
            problems = send(fresh, sink, webhook)
            seen |= {f"{a.kind}|{a.subject}|{a.window}" for a in fresh}
            seen_path.write_text(json.dumps(sorted(seen)))
            raised += len(fresh)
            _report(result, stats, fresh, problems, as_json)
            if not follow:
                break
            time.sleep(pause)
    except KeyboardInterrupt:
        typer.echo("stopped; the cursor is saved, the next run goes on from there", err=True)
        return
    except CostarError as exc:
        fail(exc)
    if raised:
        exit_code(ExitCode.FINDINGS)


def _report(
    result: Any, windows: list[dict], alerts: list[Any], problems: list[str], as_json: bool
):
    if as_json:
        emit_json(
            {
                "traces": result.traces,
                "verdicts": result.verdicts,
                "judge_errors": result.errors,
                "seconds": result.seconds,
                "windows": windows,
                "alerts": [a.to_json() for a in alerts],
                "problems": problems,
            }
        )
        return
    typer.echo(
        f"scored {result.traces} new traces ({result.verdicts} verdicts, "
        f"{result.errors} judge errors) in {result.seconds:.1f} s"
    )
    for stats in windows:
        typer.echo(f"window {stats['window']}:")
        for judge, row in sorted(stats["judges"].items()):
            if row["rate"] is not None:
                low, high = row["ci"]
                typer.echo(
                    f"  {judge}: {row['rate']:.0%} [{low:.0%}, {high:.0%}] of "
                    f"{row['passed'] + row['failed']}, errors {row['error_rate']:.0%}"
                )
        for metric, m in sorted(stats["metrics"].items()):
            typer.echo(f"  {metric}: median {m['median']:.4g}, p90 {m['p90']:.4g} (n={m['n']})")
    for a in alerts:
        typer.echo(f"ALERT {a.kind}: {a.message}; examples: {', '.join(a.examples[:3])}")
    for p in problems:
        typer.echo(f"costar: warning: {p}", err=True)


scenario_app = typer.Typer(
    help="Scenario files: make them from production traces.", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("from-trace")
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
    from costar.judges import TraceView
    from costar.monitor import trace_ids_from_alerts, write_scenarios
    from costar.traces import TraceStore

    try:
        settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
        ids = list(trace_ids or [])
        if from_alerts is not None:
            if not from_alerts.exists():
                raise ConfigError(f"{from_alerts}: no such alerts file")
            ids += trace_ids_from_alerts(from_alerts)
        if not ids:
            raise ConfigError("name TRACE_IDs or --from-alerts FILE")
        store = TraceStore(settings.store_uri(), settings.experiment)
        traces = store.get_traces(ids)
        missing = sorted(set(ids) - {t.info.trace_id for t in traces})
        if missing:
            raise ConfigError(f"no such trace in {settings.store_uri()}: {', '.join(missing[:5])}")
        views = [TraceView.from_mlflow(t) for t in traces]
        verdicts = VerdictStore(settings.verdict_url()).for_traces(ids)
        target = out or settings.resolve(settings.suite) / "production"
        done = write_scenarios(views, verdicts, target, force)
    except CostarError as exc:
        fail(exc)
    if as_json:
        emit_json([{"id": s, "path": str(p), "written": w} for s, p, w in done])
        return
    for sid, path, written in done:
        typer.echo(f"{'wrote' if written else 'kept existing'} {path} ({sid})")
