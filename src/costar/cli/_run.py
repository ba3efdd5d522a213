"""`costar run`: scenarios x trials against the agent, one trace per trial."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import ExitCode, UsageError
from costar.cli._options import Experiment, JsonFlag, TrackingUri, load_settings
from costar.cli._output import emit_json, exit_code
from costar.cli._output import limit_llm_calls as _limit_llm_calls
from costar.cli._render import console, marked, right_aligned, table


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
    include_drafts: Annotated[
        bool,
        typer.Option(
            "--include-drafts",
            help="Also run draft scenarios (`costar scenario generate`); the gate still leaves "
            "them out until they are accepted.",
        ),
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
    only_failed: Annotated[
        str | None,
        typer.Option(
            "--only-failed",
            help="Run id: run again, with all their trials, only the scenarios that failed a "
            "gated judge in that run (run `costar assess` on it first). Its suite and trials "
            "unless SUITE or --trials say otherwise; --scenario and --tag narrow further.",
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            help="With --only-failed: the gate policy whose judges count (default: "
            "every judge with pass/fail verdicts).",
        ),
    ] = None,
    replay: Annotated[
        str | None,
        typer.Option(
            "--replay",
            help="Run id: serve its recorded tool results (matched by tool, arguments and "
            "occurrence in the same scenario and trial) instead of calling the tools.",
        ),
    ] = None,
    replay_tools: Annotated[
        str | None,
        typer.Option("--replay-tools", help="With --replay: only these tools, comma-separated."),
    ] = None,
    until_step: Annotated[
        int | None,
        typer.Option("--until-step", help="With --replay: serve recorded steps 1..K only."),
    ] = None,
    replay_strict: Annotated[
        bool,
        typer.Option(
            "--replay-strict",
            help="With --replay: a call with no recording fails (default: it runs live; "
            "with --until-step, calls past step K always run live).",
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option("--executor", help="Where trials run: local (threads, default) or ray."),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray cluster address (default: start a local Ray)."),
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Run every scenario x trial against the agent; record one MLflow trace per trial.

    Exits 1 when trials ended in error or timeout (each is listed with its reason; the traces
    are recorded either way), unless --allow-errors; 3 when traces could not be written.
    """
    from costar.harness import RunConfig, replay_misses, run_suite
    from costar.llm import llm_traffic

    if only_failed and resume:
        raise UsageError("--only-failed starts a new run; it cannot be combined with --resume")
    if (replay_tools or until_step is not None or replay_strict) and not replay:
        raise UsageError("--replay-tools, --until-step and --replay-strict need --replay RUN")
    if policy and not only_failed:
        raise UsageError("--policy only chooses the judges of --only-failed; add --only-failed RUN")
    try:
        settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
        _limit_llm_calls(settings)
        failed = _failed_in(settings, only_failed, policy) if only_failed else None
        config = RunConfig.from_settings(
            settings,
            suite=str(suite.resolve()) if suite else failed.suite if failed else None,
            agent=agent,
            trials=trials or (failed.trials if failed else None),
            concurrency=concurrency,
            timeout=timeout,
            tags=tag,
            scenarios=scenario,
            keep_workspaces=keep_workspaces,
            include_drafts=include_drafts or None,
            resume=resume,
            name=name,
            replay=_replay_config(replay, replay_tools, until_step, replay_strict),
            executor=executor,
            address=address,
        )
        if failed is not None:
            if not failed.failed:
                return _nothing_failed(failed, as_json)
            from costar.ci import rerun_config

            config, failed = rerun_config(config, failed)
            if not as_json:
                _print_rerun(failed, config.scenarios)
        if not config.resume:
            _check_judge_names(settings, config)
        with llm_traffic(llm_record, llm_replay) as proxy:
            summary = _run_with_progress(run_suite, config, show=not as_json)
        misses = replay_misses(proxy, config, summary.run_id)
    except KeyboardInterrupt:
        typer.echo("costar: interrupted before any trial ran; nothing was recorded", err=True)
        exit_code(ExitCode.INTERRUPTED)
    if as_json:
        data = summary.to_json()
        if failed is not None:
            data["only_failed"] = failed.to_json()
        emit_json(data)
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


def _replay_config(
    run_id: str | None, tools: str | None, until_step: int | None, strict: bool
) -> Any:
    if not run_id:
        return None
    from costar.harness import ReplayConfig

    names = [t.strip() for t in (tools or "").split(",") if t.strip()]
    return ReplayConfig(run_id=run_id, tools=names, until_step=until_step, strict=strict)


def _check_judge_names(settings: Any, config: Any) -> None:
    """A scenario's `judges:` block must name judges the project has: a typo is found before
    the run, not after it."""
    from costar._exceptions import ScenarioError
    from costar.judges import load_judges, unknown_judges
    from costar.scenarios import load_suite

    suite = load_suite(
        config.suite, config.tags or None, config.scenarios or None, config.allow_outside_fixtures
    )
    if not any(s.scenario.judges for s in suite.scenarios):
        return
    known = {j.name for j in load_judges(settings.root, settings.judges)}
    problems = unknown_judges(suite.scenarios, known)
    if problems:
        raise ScenarioError(problems)


def _failed_in(settings: Any, run_id: str, policy: Path | None) -> Any:
    """The scenarios of `run_id` that failed a gated judge (its newest verdicts)."""
    from costar.assess import VerdictStore
    from costar.gate import failed_scenarios, load_policy
    from costar.traces import TraceStore

    rules = load_policy(policy)
    run = TraceStore(settings.store_uri(), settings.experiment).get_run(run_id)
    store = VerdictStore(settings.verdict_url())
    try:
        return failed_scenarios(run, store.for_run(run.run_id), rules)
    finally:
        store.close()


def _nothing_failed(failed: Any, as_json: bool) -> None:
    if as_json:
        emit_json({"run_id": None, "only_failed": failed.to_json()})
        return
    judges = ", ".join(failed.judges) or "none"
    typer.echo(
        f"no scenario failed a gated judge in run {failed.run_id} (gated judges: {judges}); "
        "nothing to run"
    )


def _print_rerun(failed: Any, ids: list[str]) -> None:
    out = console()
    say = {"highlight": False, "markup": False, "soft_wrap": True}
    out.print(
        f"re-running {len(ids)} scenario(s) that failed a gated judge in run {failed.run_id}:",
        **say,
    )
    for sid in ids:
        out.print(f"  {sid}  ({', '.join(failed.failed[sid])})", **say)
    if failed.missing:
        out.print(
            f"not in the suite now (or left out by --tag), so not run: {', '.join(failed.missing)}",
            **say,
        )


def _run_with_progress(run_suite: Any, config: Any, show: bool) -> Any:
    """Run with a progress bar on stderr, shown from the first finished trial on.

    Starting it lazily keeps usage errors (raised before any trial) on one clean line.
    """
    if not show:
        return run_suite(config)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]running"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[last]}"),
        TimeElapsedColumn(),
        console=console(stderr=True),
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
    from rich.markup import escape

    out = console()
    grid = right_aligned(
        table(f"run {summary.run_id}  ({summary.status})", ["scenario"], ["ok", "error", "timeout"])
    )
    for sid, counts in sorted(summary.by_scenario.items()):
        grid.add_row(
            sid,
            str(counts["ok"]),
            marked(counts["error"], "red"),
            marked(counts["timeout"], "yellow"),
        )
    if summary.by_scenario:
        out.print(grid)
    resumed = f" (+{summary.skipped} recorded before)" if summary.skipped else ""
    out.print(
        f"trials: {summary.ok} ok, {summary.error} error, {summary.timeout} timeout{resumed}"
        f"  |  traces written: {summary.written}  |  wall: {summary.wall_seconds:.1f} s"
    )
    if summary.drafts_skipped:
        out.print(
            f"{summary.drafts_skipped} draft scenario(s) left out: review them, then "
            "`costar scenario accept` (or run them with --include-drafts)"
        )
    out.print(f"agent: {summary.agent}  version: {summary.agent_version}")
    out.print(f"run id: {summary.run_id}")
    out.print(f"store: {summary.tracking_uri}", soft_wrap=True)
    out.print(f"view:  mlflow ui --backend-store-uri {summary.tracking_uri}", soft_wrap=True)
    for f in summary.failures:
        where = f"{f['scenario_id']}#{f['trial']} {f.get('trace_id', '')}".rstrip()
        reason = escape(f"{where}: {f['error'] or 'no reason recorded'}")
        out.print(f"[red]{f['status']}[/] {reason}", soft_wrap=True, highlight=False)
    if summary.failures:
        out.print(
            "exit code 1: trials ended in error or timeout (--allow-errors: exit 0); "
            "`costar show TRACE_ID` prints a trial's conversation and traceback",
            soft_wrap=True,
        )
    if summary.spilled:
        out.print(
            f"[red]{summary.spilled} trials could not be written ({summary.store_error}); kept in "
            f"{summary.spill_path}. `costar run --resume {summary.run_id}` loads them.[/]"
        )
    if summary.writer_note:
        out.print(f"[yellow]{escape(summary.writer_note)}[/]", soft_wrap=True, highlight=False)
    if summary.status == "interrupted":
        out.print(
            f"[yellow]interrupted: finished trials are kept. Resume with "
            f"`costar run --resume {summary.run_id}`.[/]"
        )
