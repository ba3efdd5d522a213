"""`costar monitor`: the project's judges on production traffic, alerts on drift."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import ExitCode
from costar.cli._options import Experiment, JsonFlag, TrackingUri, load_settings
from costar.cli._output import emit_json, exit_code


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
    from costar.monitor import AlertPolicy, MonitorConfig, parse_duration, watch

    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    cfg = MonitorConfig.from_settings(
        settings,
        name,
        judge,
        sample=sample,
        sample_checks=sample_checks,
        window_s=parse_duration(window),
        lag_s=parse_duration(lag),
        mirror=not no_mirror,
    )
    pause = parse_duration(interval)
    policy = AlertPolicy(alpha=alpha, baseline_windows=baseline_windows)
    sink = alerts_file or settings.project().monitor_dir / f"{cfg.name}-alerts.jsonl"
    try:
        raised = watch(cfg, policy, sink, webhook, lambda p: _report(p, as_json), follow, pause)
    except KeyboardInterrupt:
        typer.echo("stopped; the cursor is saved, the next run goes on from there", err=True)
        return
    if raised:
        exit_code(ExitCode.FINDINGS)


def _report(done: Any, as_json: bool) -> None:
    result, windows, alerts, problems = done.result, done.windows, done.alerts, done.problems
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
