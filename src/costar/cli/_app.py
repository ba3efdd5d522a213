"""Typer commands. Each parses flags into a config object and calls one library function.

Heavy modules (mlflow above all) are imported inside the commands, so `costar --help` is fast.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import CostarError, ExitCode
from costar.cli._output import emit_json, exit_code, fail

app = typer.Typer(
    name="costar",
    help=(
        "Test and refine AI agents like software: scenarios are fixtures, recorded traces are "
        "test runs, judges are the test suite.\n\n"
        "Start with `costar run SUITE --agent pkg.module:function`, then `costar runs` and "
        "`costar show RUN_ID`. Configuration: costar.toml (found upward), COSTAR_* variables, "
        "flags. Exit codes: 0 ok, 1 findings, 2 usage error, 3 infrastructure error, "
        "130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: sqlite:///<project>/.costar/mlflow.db).",
        envvar="COSTAR_TRACKING_URI",
        show_envvar=False,
    ),
]
Experiment = Annotated[
    str | None, typer.Option("--experiment", help="MLflow experiment name (default: costar).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _settings(**overrides: Any) -> Any:
    from costar.config import load_settings

    return load_settings(overrides)


def _assess_config(settings: Any, **fields: Any) -> Any:
    """The AssessConfig of a project's settings (its store, judges and verdict store)."""
    from costar.assess import AssessConfig

    return AssessConfig(
        root=settings.root,
        tracking_uri=settings.store_uri(),
        experiment=settings.experiment,
        judge_paths=settings.judges,
        verdict_store=settings.verdict_url(),
        allow_outside_fixtures=settings.allow_outside_fixtures,
        redact=settings.redact,
        **fields,
    )


def progress_printer(quiet: bool) -> Any:
    """Where a long command's progress lines go: stderr, or nowhere (with --json)."""
    return (lambda _line: None) if quiet else (lambda line: typer.echo(line, err=True))


def _open_store(tracking_uri: str | None, experiment: str | None) -> tuple[Any, Any]:
    """Settings and the TraceStore they name."""
    from costar.traces import TraceStore

    settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
    return settings, TraceStore(settings.store_uri(), settings.experiment)


@app.command()
def run(
    suite: Annotated[
        Path | None,
        typer.Argument(help="Folder of scenario YAML files (default: `suite` in costar.toml)."),
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            "-a",
            help="Agent under test: 'pkg.module:function' (Python), 'cmd:COMMAND ARGS' "
            "(subprocess, JSON on stdin/stdout) or an http(s) chat-completions URL.",
        ),
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", "-n", help="Trials per scenario.")
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", "-c", help="Trials run at once.")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds per trial before it is killed.")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", "-t", help="Only scenarios with this tag (repeat).")
    ] = None,
    scenario: Annotated[
        list[str] | None,
        typer.Option("--scenario", "-s", help="Only this scenario id or glob (repeat)."),
    ] = None,
    keep_workspaces: Annotated[
        bool, typer.Option("--keep-workspaces", help="Keep each trial's workspace folder.")
    ] = False,
    resume: Annotated[
        str | None,
        typer.Option("--resume", help="Run id to resume: runs only the trials with no trace."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Run name for the MLflow UI.")] = None,
    allow_errors: Annotated[
        bool,
        typer.Option(
            "--allow-errors",
            help="Exit 0 even when trials ended in error or timeout (they are still listed).",
        ),
    ] = False,
    llm_record: Annotated[
        Path | None,
        typer.Option("--llm-record", help="Record the agent's model traffic into this folder."),
    ] = None,
    llm_replay: Annotated[
        Path | None,
        typer.Option("--llm-replay", help="Answer the agent's model calls from this folder."),
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every scenario x trial against the agent; record one MLflow trace per trial.

    Exits 1 when trials ended in error or timeout (each is listed with its reason; the traces
    are recorded either way), unless --allow-errors; 3 when traces could not be written.
    """
    from costar.harness import run_suite, settings_to_config
    from costar.llm._record import llm_traffic, replay_misses

    try:
        settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
        config = settings_to_config(
            settings,
            suite=str(suite.resolve()) if suite else None,
            agent=agent,
            trials=trials,
            concurrency=concurrency,
            timeout=timeout,
            tags=tag,
            scenarios=scenario,
            keep_workspaces=keep_workspaces,
            resume=resume,
            name=name,
        )
        with llm_traffic(llm_record, llm_replay) as proxy:
            summary = _run_with_progress(run_suite, config, show=not as_json)
        misses = replay_misses(proxy, config, summary.run_id)
    except CostarError as exc:
        fail(exc)
    except KeyboardInterrupt:
        typer.echo("costar: interrupted before any trial ran; nothing was recorded", err=True)
        exit_code(ExitCode.INTERRUPTED)
    if as_json:
        emit_json(summary.to_json())
    else:
        _print_summary(summary)
    if misses:  # recordings out of date: a usage problem, said per scenario and turn
        typer.echo(f"costar: error: llm replay: {len(misses)} model requests had no recording in "
                   f"{llm_replay} (record again with --llm-record):", err=True)  # fmt: skip
        for line in misses:
            typer.echo(f"  {line}", err=True)
    if summary.unsaved:  # lost unless acted on: said on stderr even with --json
        typer.echo(
            f"costar: error: {summary.unsaved} trials were not saved, neither in the store nor "
            f"in a spill file ({summary.unsaved_error}): {', '.join(summary.unsaved_trials)}. "
            f"`costar run --resume {summary.run_id}` runs them again.",
            err=True,
        )
        exit_code(ExitCode.INFRA)
    if misses:
        exit_code(ExitCode.USAGE)
    if summary.status == "interrupted":
        exit_code(ExitCode.INTERRUPTED)
    if summary.spilled:
        exit_code(ExitCode.INFRA)
    if summary.failures and not allow_errors:
        exit_code(ExitCode.FINDINGS)


def _run_with_progress(run_suite: Any, config: Any, show: bool) -> Any:
    """Run with a progress bar on stderr, shown from the first finished trial on.

    Starting it lazily keeps usage errors (raised before any trial) on one clean line.
    """
    if not show:
        return run_suite(config)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]running"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("trials", total=None, last="")

    def progress(done: int, total: int, record: Any) -> None:
        if not bar.live.is_started:
            bar.start()
        last = f"{record.scenario_id}#{record.trial} {record.status}" if record else ""
        bar.update(task, completed=done, total=total, last=last)

    try:
        return run_suite(config, progress=progress)
    finally:
        if bar.live.is_started:
            bar.stop()


def _print_summary(summary: Any) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title=f"run {summary.run_id}  ({summary.status})", show_lines=False)
    for column in ("scenario", "ok", "error", "timeout"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for sid, counts in sorted(summary.by_scenario.items()):
        table.add_row(
            sid,
            str(counts["ok"]),
            f"[red]{counts['error']}[/]" if counts["error"] else "0",
            f"[yellow]{counts['timeout']}[/]" if counts["timeout"] else "0",
        )
    if summary.by_scenario:
        console.print(table)
    resumed = f" (+{summary.skipped} recorded before)" if summary.skipped else ""
    console.print(
        f"trials: {summary.ok} ok, {summary.error} error, {summary.timeout} timeout{resumed}"
        f"  |  traces written: {summary.written}  |  wall: {summary.wall_seconds:.1f} s"
    )
    console.print(f"agent: {summary.agent}  version: {summary.agent_version}")
    console.print(f"run id: {summary.run_id}")
    console.print(f"store: {summary.tracking_uri}", soft_wrap=True)
    console.print(f"view:  mlflow ui --backend-store-uri {summary.tracking_uri}", soft_wrap=True)
    for f in summary.failures:
        reason = escape(f"{f['scenario_id']}#{f['trial']}: {f['error'] or 'no reason recorded'}")
        console.print(f"[red]{f['status']}[/] {reason}", soft_wrap=True, highlight=False)
    if summary.failures:
        console.print("exit code 1: trials ended in error or timeout (--allow-errors: exit 0)")
    if summary.spilled:
        console.print(
            f"[red]{summary.spilled} trials could not be written ({summary.store_error}); kept in "
            f"{summary.spill_path}. `costar run --resume {summary.run_id}` loads them.[/]"
        )
    if summary.status == "interrupted":
        console.print(
            f"[yellow]interrupted: finished trials are kept. Resume with "
            f"`costar run --resume {summary.run_id}`.[/]"
        )


@app.command()
def runs(
    limit: Annotated[int, typer.Option("--limit", help="How many runs, newest first.")] = 20,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """List recorded runs, newest first."""
    try:
        settings, store = _open_store(tracking_uri, experiment)
        found = store.list_runs(limit)
    except CostarError as exc:
        fail(exc)
    rows = [_run_json(r) for r in found]
    if as_json:
        emit_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"runs in {settings.store_uri()}")
    for column in (
        "run id",
        "name",
        "status",
        "started",
        "ok",
        "error",
        "timeout",
        "agent version",
    ):
        table.add_column(column)
    for r in rows:
        table.add_row(
            r["run_id"][:12],
            r["name"],
            r["status"],
            r["started"],
            *(str(int(r["counts"].get(k, 0))) for k in ("ok", "error", "timeout")),
            r["agent_version"],
        )
    Console().print(table if rows else "no runs yet: start one with `costar run`")


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


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Summarise one run: its settings and each scenario's trials as stored."""
    try:
        _, store = _open_store(tracking_uri, experiment)
        info = store.get_run(run_id)
        traces = store.run_traces(info.run_id)
    except CostarError as exc:
        fail(exc)
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
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]run {data['run_id']}[/] {data['name']} ({data['status']})")
    console.print(f"agent: {data['agent']}  version: {data['agent_version']}")
    console.print(f"suite: {data['suite']}  hash: {data['suite_hash']}  trials: {data['trials']}")
    table = Table()
    for column in ("scenario", "ok", "error", "timeout", "trace ids"):
        table.add_column(column)
    for sid, entry in per.items():
        ids = " ".join(t["trace_id"][:11] for t in entry["traces"][:3])
        table.add_row(sid, str(entry["ok"]), str(entry["error"]), str(entry["timeout"]), ids)
    console.print(table)
    console.print(f"{len(traces)} traces stored")


@app.command()
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
        typer.echo(f"costar: error: unknown schema {kind!r} (use 'scenario' or 'event')", err=True)
        exit_code(ExitCode.USAGE)
    typer.echo(json.dumps(data, indent=2))


@app.command()
def assess(
    run_ids: Annotated[
        list[str] | None, typer.Argument(help="Run ids (or unique prefixes) to score.")
    ] = None,
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Score every stored run.")] = False,
    last: Annotated[bool, typer.Option("--last", help="Score the newest run.")] = False,
    judge: Annotated[
        list[str] | None, typer.Option("--judge", "-j", help="Only this judge (repeat).")
    ] = None,
    no_mirror: Annotated[
        bool, typer.Option("--no-mirror", help="Do not mirror verdicts to MLflow as Feedback.")
    ] = False,
    allow_errors: Annotated[
        bool,
        typer.Option(
            "--allow-errors", help="Exit 0 even when judges errored more than max_error_rate."
        ),
    ] = False,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Score stored traces with the project's judges (never re-runs the agent).

    Only verdicts missing for the current judge versions are computed: after changing one
    judge, only that judge runs. Judge errors are recorded and retried by the next assess.
    Exits 1 when a judge's error rate is above max_error_rate (costar.toml; default 0: any
    judge error), unless --allow-errors.
    """
    from costar.assess import assess as run_assess
    from costar.assess._errors import breach_message, error_breaches

    if not run_ids and not all_runs and not last:
        typer.echo(
            "costar: error: name a RUN_ID (see `costar runs`), or pass --last or --all-runs",
            err=True,
        )
        exit_code(ExitCode.USAGE)
    try:
        settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
        config = _assess_config(
            settings,
            run_ids=run_ids or [],
            all_runs=all_runs,
            last=last,
            judges=judge or [],
            mirror=not no_mirror,
        )
        summary = run_assess(config)
    except CostarError as exc:
        fail(exc)
    breaches = [] if allow_errors else error_breaches(summary, settings.max_error_rate)
    data = summary.to_json()
    if as_json:
        emit_json(data)
    else:
        _print_assess(data)
    if breaches:
        typer.echo(
            f"costar: {breach_message(summary, breaches, settings.max_error_rate)}", err=True
        )
        exit_code(ExitCode.FINDINGS)


def _print_assess(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"verdicts: {data['traces']} traces x {data['judges']} judges")
    for column in ("judge", "passed", "failed", "error", "skipped", "mean"):
        table.add_column(column, justify="left" if column == "judge" else "right")
    for name, t in sorted(data["per_judge"].items()):
        mean = "" if t["mean"] is None else f"{t['mean']:.4g}"
        table.add_row(
            name,
            str(t["passed"]),
            f"[red]{t['failed']}[/]" if t["failed"] else "0",
            f"[yellow]{t['error']}[/]" if t["error"] else "0",
            str(t["skipped"]),
            mean,
        )
    console.print(table)
    console.print(
        f"scored {data['scored']}, reused {data['cached']} cached, {data['errors']} judge errors, "
        f"mirrored {data['mirrored']} to MLflow, {data['seconds']:.2f} s"
    )
    for warning in data["warnings"]:
        console.print(f"[yellow]warning: {warning}[/]")
    if data["runs"]:
        console.print(f"details: costar verdicts {data['runs'][-1][:12]} --failed")


@app.command()
def verdicts(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    judge: Annotated[
        list[str] | None, typer.Option("--judge", "-j", help="Only this judge (repeat).")
    ] = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only failing and error verdicts.")
    ] = False,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """List a run's verdicts (the newest per trace and judge)."""
    from costar.assess import VerdictStore

    try:
        settings, store = _open_store(tracking_uri, experiment)
        info = store.get_run(run_id)
        found = VerdictStore(settings.verdict_url()).for_run(info.run_id)
    except CostarError as exc:
        fail(exc)
    stored = len(found)
    if judge:
        found = [v for v in found if v.judge in judge]
    chosen = len(found)
    if failed:
        found = [v for v in found if v.passed is False or v.status == "error"]
    if as_json:
        emit_json([v.model_dump(mode="json") for v in found])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"verdicts of run {info.run_id[:12]}", show_lines=False)
    for column in ("scenario", "trial", "judge", "result", "rationale"):
        table.add_column(column, overflow="fold")
    for v in found:
        result = (
            "[yellow]error[/]"
            if v.status == "error"
            else "skipped"
            if v.status == "skipped"
            else "[green]pass[/]"
            if v.passed
            else "[red]fail[/]"
            if v.passed is False
            else f"{v.value}"
        )
        table.add_row(v.scenario_id, str(v.trial), v.judge, result, v.error or v.rationale)
    if found:
        Console().print(table)
    elif not stored:
        typer.echo(f"no verdicts: run `costar assess {info.run_id[:12]}` first")
    elif not chosen:
        typer.echo(f"no verdicts of judge {', '.join(judge or [])} in this run")
    else:
        typer.echo(f"no failing verdicts: {chosen} verdicts, none failed or errored")


@app.command("import")
def import_(
    fmt: Annotated[str, typer.Argument(help="Format: openai-chat (JSONL) or tau-bench (JSON).")],
    path: Annotated[Path, typer.Argument(help="The file to import.")],
    read_only: Annotated[
        str | None,
        typer.Option(
            "--read-only",
            help="Tools that only read, comma-separated (e.g. find_order,search_user): the "
            "tool-call check leaves them out. Default: the project's `read_only` setting; "
            "nothing is guessed.",
        ),
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Import conversations recorded elsewhere as a run: traces, derived scenarios, rewards.

    Then `costar assess RUN_ID` judges them like costar's own traces.
    """
    from dataclasses import asdict

    from costar.importers import import_file

    try:
        settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
        summary = import_file(
            fmt,
            path.resolve(),
            settings.root,
            settings.store_uri(),
            settings.experiment,
            settings.verdict_url(),
            read_only=None
            if read_only is None
            else [t.strip() for t in read_only.split(",") if t.strip()],
            project_read_only=settings.read_only,
        )
    except CostarError as exc:
        fail(exc)
    if as_json:
        emit_json(asdict(summary))
        return
    typer.echo(
        f"imported {summary.records} {fmt} records as run {summary.run_id}: "
        f"{summary.scenarios} scenarios in {summary.suite}, {summary.written} traces, "
        f"{summary.verdicts} reward verdicts"
    )
    if summary.read_only:
        typer.echo(
            f"read-only tools (from {summary.read_only_from}): {', '.join(summary.read_only)}; "
            f"tool calls compared in {summary.tool_call_mode} mode"
        )
    else:
        typer.echo(
            "read-only tools: none declared (pass --read-only or set read_only in costar.toml); "
            f"expected calls of every tool are compared, in {summary.tool_call_mode} mode"
        )
    typer.echo(f"judge them: costar assess {summary.run_id[:12]}")


@app.command()
def report(
    run_id: Annotated[
        str | None, typer.Argument(help="Run id (or a unique prefix); default: the newest run.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option("--baseline", "-b", help="Compare with this run, paired.")
    ] = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write a self-contained HTML report.")
    ] = None,
    ui_url: Annotated[
        str, typer.Option("--ui-url", help="MLflow UI address for the report's trace links.")
    ] = "http://127.0.0.1:5000",
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Per judge: pass rate with its 95% interval, pass^k, flaky scenarios, judge errors,
    metric median and p90; with --baseline, a paired comparison by scenario."""
    from dataclasses import asdict

    from costar.assess import VerdictStore, compare_runs, summarise
    from costar.gate import dependency_changes

    try:
        settings, store = _open_store(tracking_uri, experiment)
        run = store.resolve_run(run_id)
        verdict_store = VerdictStore(settings.verdict_url())
        found = verdict_store.for_run(run.run_id)
        base = store.get_run(baseline) if baseline else None
        base_found = verdict_store.for_run(base.run_id) if base else []
    except CostarError as exc:
        fail(exc)
    if not found:
        typer.echo(
            f"costar: error: run {run.run_id[:12]} has no verdicts; run `costar assess "
            f"{run.run_id[:12]}` first",
            err=True,
        )
        exit_code(ExitCode.USAGE)
    summary = summarise(found)
    deltas = compare_runs(base_found, found) if base else {}
    if html_file:
        from costar.report import ReportInput, render_html

        html_file.write_text(
            render_html(
                ReportInput(
                    run_id=run.run_id,
                    run_name=run.name,
                    agent=run.params.get("agent", ""),
                    agent_version=run.params.get("agent_version", ""),
                    summary=summary,
                    verdicts=found,
                    baseline_id=base.run_id if base else None,
                    deltas=deltas or None,
                    ui_url=ui_url,
                    experiment_id=store.experiment_id,
                    redact=settings.redact,
                )
            ),
            encoding="utf-8",
        )
    if as_json:
        emit_json(
            {
                "run_id": run.run_id,
                "baseline": base.run_id if base else None,
                "judges": {k: asdict(v) for k, v in summary.items()},
                "comparison": {k: asdict(v) for k, v in deltas.items()},
                "dependency_changes": dependency_changes(base, run) if base else [],
            }
        )
        return
    _print_report(run.run_id, summary, deltas, base.run_id if base else None)
    if base:
        _echo_changes(dependency_changes(base, run))


def _print_report(run_id: str, summary: dict, deltas: dict, baseline: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    def pct(x: float | None) -> str:
        return "" if x is None else f"{100 * x:.0f}%"

    console = Console()
    table = Table(title=f"run {run_id[:12]}: verdicts per judge")
    for column in ("judge", "pass rate [95% CI]", "pass^k", "flaky", "errors", "median / p90"):
        table.add_column(column, overflow="fold")
    for name, s in sorted(summary.items()):
        rate = "" if s.rate is None else f"{pct(s.rate)} [{pct(s.ci[0])}, {pct(s.ci[1])}]"
        k = max(s.pass_hat_k) if s.pass_hat_k else None
        hat = f"pass^{k} {pct(s.pass_hat_k[k])}" if k and k > 1 else ""
        spread = "" if s.median is None else f"{s.median:.4g} / {s.p90:.4g}"
        table.add_row(
            name, rate, hat, ", ".join(s.flaky[:3]), str(s.errors) if s.errors else "", spread
        )
    console.print(table)
    if not baseline:
        return
    table = Table(title=f"against baseline {baseline[:12]} (paired by scenario)")
    for column in ("judge", "baseline", "candidate", "effect [95% CI]", "p", "regressed", "fixed"):
        table.add_column(column, overflow="fold")
    for name, d in deltas.items():
        c = d.comparison
        if c is None:
            change = "" if d.metric_change is None else f"median {d.metric_change:+.1%}"
            table.add_row(name, "", "", change, "", "", d.note)
            continue
        effect = f"{c.effect:+.2f} [{c.ci[0]:+.2f}, {c.ci[1]:+.2f}]"
        style = "red" if c.significant_regression() else ""
        table.add_row(
            name,
            pct(c.baseline_rate),
            pct(c.candidate_rate),
            f"[{style}]{effect}[/]" if style else effect,
            f"{c.p_value:.3g}",
            ", ".join(c.regressed[:3]),
            ", ".join(c.fixed[:3]),
        )
    console.print(table)


def _gate_json(result: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        "passed": result.passed,
        "reasons": result.reasons,
        "warnings": result.warnings,
        "judges": result.outcomes,
        "family": result.family,
        "checks": [asdict(c) for c in result.checks],
    }


def _echo_gate(result: Any) -> None:
    from costar.gate import lines

    for line in lines(result):
        typer.echo(line)


def _echo_changes(changes: list[str]) -> None:
    if changes:
        typer.echo("dependencies changed between the runs (the agent may not be the cause):")
        for line in changes:
            typer.echo(f"  - {line}")


@app.command()
def gate(
    baseline: Annotated[str, typer.Option("--baseline", "-b", help="The baseline run id.")],
    candidate: Annotated[str, typer.Option("--candidate", "-c", help="The candidate run id.")],
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Gate policy YAML (see costar.gate).")
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Write JUnit XML (scenario x judge cases).")
    ] = None,
    markdown_file: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown summary for a PR comment.")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """May the candidate ship? Exit 0 if yes, 1 with the reasons if not.

    Uses the runs' verdicts (run `costar assess` on both first). The runs must be of one
    suite and share every scenario of the baseline. Each gated judge is then pass, regression
    or inconclusive (the data cannot tell; warns by default); the false-alarm level (0.05)
    holds for the whole gate (Holm). Also minimum pass rates, metric increase limits and judge
    error rates, as the policy says.
    """
    from costar.assess import VerdictStore
    from costar.gate import dependency_changes, evaluate, junit_xml, load_policy
    from costar.gate import markdown as render_markdown

    try:
        rules = load_policy(policy)
        settings, store = _open_store(tracking_uri, experiment)
        base, cand = store.get_run(baseline), store.get_run(candidate)
        verdict_store = VerdictStore(settings.verdict_url())
        base_v, cand_v = verdict_store.for_run(base.run_id), verdict_store.for_run(cand.run_id)
    except CostarError as exc:
        fail(exc)
    for name, run, found in (("baseline", base, base_v), ("candidate", cand, cand_v)):
        if not found:
            typer.echo(
                f"costar: error: the {name} run {run.run_id[:12]} has no verdicts; run "
                f"`costar assess {run.run_id[:12]}` first",
                err=True,
            )
            exit_code(ExitCode.USAGE)
    result = evaluate(base_v, cand_v, rules, (base, cand))
    changes = dependency_changes(base, cand)
    if junit:
        gated = set(rules.judges) if rules.judges else None
        junit.write_text(junit_xml(cand_v, gated, result), encoding="utf-8")
    if markdown_file:
        markdown_file.write_text(
            render_markdown(result, base.run_id, cand.run_id, changes), encoding="utf-8"
        )
    if as_json:
        emit_json({**_gate_json(result), "dependency_changes": changes})
    else:
        _echo_gate(result)
        _echo_changes(changes)
    if not result.passed:
        exit_code(ExitCode.FINDINGS)


@app.command("ci")
def ci_command(
    suite: Annotated[
        Path | None, typer.Argument(help="Suite folder (default: costar.toml).")
    ] = None,
    agent: Annotated[str | None, typer.Option("--agent", "-a", help="Agent under test.")] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            "-b",
            help="Baseline run id, or 'previous' for the newest finished earlier run "
            "of the same suite; without it only the policy's absolute rules apply.",
        ),
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", "-n", help="Trials per scenario.")
    ] = None,
    policy: Annotated[Path | None, typer.Option("--policy", help="Gate policy YAML.")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML.")] = None,
    markdown_file: Annotated[
        Path | None, typer.Option("--markdown", help="Write a Markdown summary.")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the suite, assess the run and gate it, in one step (for CI). Exit 0 pass, 1 fail."""
    from costar.gate import ci, junit_xml, load_policy
    from costar.gate import markdown as render_markdown
    from costar.harness import settings_to_config

    try:
        rules = load_policy(policy)
        settings = _settings(tracking_uri=tracking_uri, experiment=experiment)
        run_config = settings_to_config(
            settings, suite=str(suite.resolve()) if suite else None, agent=agent, trials=trials
        )
        assess_config = _assess_config(settings)
        result = ci(run_config, assess_config, rules, baseline, settings.verdict_url())
    except CostarError as exc:
        fail(exc)
    if junit:
        from costar.assess import VerdictStore

        cand = VerdictStore(settings.verdict_url()).for_run(result.run.run_id)
        junit.write_text(junit_xml(cand, set(rules.judges) if rules.judges else None, result.gate))
    if markdown_file:
        markdown_file.write_text(
            render_markdown(
                result.gate,
                result.baseline_id or "(none)",
                result.run.run_id,
                result.dependency_changes,
            )
        )
    if as_json:
        emit_json(
            {
                "run": result.run.to_json(),
                "baseline": result.baseline_id,
                **_gate_json(result.gate),
                "dependency_changes": result.dependency_changes,
            }
        )
    else:
        typer.echo(
            f"run {result.run.run_id}: {result.run.ok} ok, {result.run.error} error, "
            f"{result.run.timeout} timeout; {result.assessed.scored} verdicts"
        )
        _echo_gate(result.gate)
        _echo_changes(result.dependency_changes)
    if result.run.status == "interrupted":
        exit_code(ExitCode.INTERRUPTED)
    if not result.gate.passed:
        exit_code(ExitCode.FINDINGS)


@app.command()
def plan(
    run_id: Annotated[
        str | None, typer.Argument(help="Run whose pass rates to plan from (default: newest).")
    ] = None,
    effect: Annotated[
        float, typer.Option("--effect", help="The drop in pass rate to detect, e.g. 0.15.")
    ] = 0.15,
    alpha: Annotated[
        float, typer.Option("--alpha", help="False-alarm level of the whole gate.")
    ] = 0.05,
    power: Annotated[float, typer.Option("--power", help="Chance to decide.")] = 0.8,
    policy: Annotated[
        Path | None, typer.Option("--policy", help="Gate policy YAML: plan its gated judges.")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Trials per scenario with which the gate decides a drop of --effect (finds it, or rules
    it out when nothing changed) with 80% power, per judge, from a run's pass rates. The
    level --alpha is shared by the gated judges (Holm), as in `costar gate`."""
    from dataclasses import asdict

    from costar.assess import VerdictStore
    from costar.gate import load_policy, plan_trials

    try:
        rules = load_policy(policy) if policy else None
        settings, store = _open_store(tracking_uri, experiment)
        run = store.resolve_run(run_id)
        found = VerdictStore(settings.verdict_url()).for_run(run.run_id)
    except CostarError as exc:
        fail(exc)
    rows = plan_trials(found, effect, alpha, power, rules.judges if rules else None)
    if as_json:
        emit_json(
            {
                "run_id": run.run_id,
                "effect": effect,
                "alpha": alpha,
                "power": power,
                "judges": [asdict(r) for r in rows],
            }
        )
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"trials per scenario to decide a {effect:.0%} drop (power {power:.0%}, "
        f"alpha {alpha} shared by {len(rows)} judge(s))"
    )
    for column in ("judge", "scenarios", "pass rate now", "trials needed"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r.judge,
            str(r.scenarios),
            f"{r.mean_rate:.0%}",
            str(r.trials) if r.trials else "over 1000: add scenarios",
        )
    Console().print(table)


judges_app = typer.Typer(help="Inspect the project's judges.", no_args_is_help=True)
app.add_typer(judges_app, name="judges")


@judges_app.command("list")
def judges_list(as_json: JsonFlag = False) -> None:
    """The project's judges: defaults plus judges/*.yaml and judges/*.py, with versions."""
    from costar.judges import describe, load_judges

    try:
        settings = _settings()
        rows = describe(load_judges(settings.root, settings.judges))
    except CostarError as exc:
        fail(exc)
    if as_json:
        emit_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="judges")
    for column in ("name", "kind", "version", "uses", "params"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            r["name"],
            r["kind"],
            r["version"],
            r["uses"],
            json.dumps(r["params"]) if r["params"] else "",
        )
    Console().print(table)


@judges_app.command("consistency")
def judges_consistency(
    run_id: Annotated[str, typer.Argument(help="Run whose traces to re-judge.")],
    judge_name: Annotated[str, typer.Option("--judge", "-j", help="The judge to sample.")],
    k: Annotated[int, typer.Option("-k", help="Samples per trace.")] = 5,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Score each trace k times with one judge (nothing stored): how often its samples agree.

    Separates judge noise from agent noise before anyone trusts an LLM judge's pass rate.
    """
    from dataclasses import asdict

    from costar.assess import TraceCache, self_consistency
    from costar.judges import load_judges
    from costar.scenarios import load_suite

    try:
        settings, store = _open_store(tracking_uri, experiment)
        info = store.get_run(run_id)
        (judge,) = load_judges(settings.root, settings.judges, only=[judge_name])
        suite = info.params.get("suite")
        outside = settings.allow_outside_fixtures
        scenarios = (
            {s.id: s.scenario for s in load_suite(suite, allow_outside_fixtures=outside).scenarios}
            if suite
            else {}
        )
        cache = TraceCache(settings.root / ".costar" / "cache" / "traces.db")
        result = self_consistency(store, cache, info.run_id, judge, scenarios, k)
    except CostarError as exc:
        fail(exc)
    if as_json:
        emit_json(asdict(result))
        return
    typer.echo(
        f"{result.judge}: {result.traces} traces x {k} samples: unanimous on "
        f"{result.unanimous:.0%}, pairwise agreement {result.pairwise:.0%}, "
        f"{result.errors} judge errors"
    )
    for trace_id in result.split[:10]:
        typer.echo(f"  samples disagree on {trace_id}")


fake_llm = typer.Typer(
    help="The scripted OpenAI-compatible fake LLM (offline tests and demos).",
    no_args_is_help=True,
)
app.add_typer(fake_llm, name="fake-llm")


@fake_llm.command("serve")
def fake_llm_serve(
    script: Annotated[Path, typer.Option("--script", help="YAML or JSON script of rules.")],
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1 (0: any free).")] = 0,
) -> None:
    """Serve /v1/chat/completions, /v1/responses, /v1/embeddings and /v1/models on 127.0.0.1
    until Ctrl-C; one line per request on stderr names the rule that answered."""
    import sys
    import time

    from costar.llm import FakeLLM

    try:
        fake = FakeLLM(script, port=port, log=sys.stderr).start()
    except CostarError as exc:
        fail(exc)
    except OSError as exc:
        typer.echo(f"costar: error: cannot listen on 127.0.0.1:{port}: {exc}", err=True)
        exit_code(ExitCode.USAGE)
    typer.echo(f"fake LLM serving {len(fake.script.rules)} rules at {fake.base_url}")
    typer.echo(f"point costar at it: COSTAR_MODEL=openai:/fake COSTAR_LLM_BASE_URL={fake.base_url}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


from costar.cli import _judge_loop, _monitor, _refine  # noqa: E402,F401 - more commands


def main() -> None:
    """Console-script entry point."""
    from costar import _signals
    from costar._env import quiet_dependencies

    quiet_dependencies()
    _signals.install()  # SIGTERM stops as Ctrl-C does
    app()
