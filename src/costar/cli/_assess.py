"""`costar assess` and `costar verdicts`: score stored traces, list the verdicts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from costar._exceptions import ConfigError, ExitCode
from costar.cli._options import (
    Experiment,
    JsonFlag,
    JudgeNames,
    TrackingUri,
    assess_config,
    load_settings,
    open_store,
)
from costar.cli._output import emit_json, exit_code
from costar.cli._output import limit_llm_calls as _limit_llm_calls
from costar.cli._render import console, fits_beside, marked, right_aligned, stacked, table


def assess(
    run_ids: Annotated[
        list[str] | None, typer.Argument(help="Run ids (or unique prefixes) to score.")
    ] = None,
    all_runs: Annotated[bool, typer.Option("--all-runs", help="Score every stored run.")] = False,
    last: Annotated[bool, typer.Option("--last", help="Score the newest run.")] = False,
    judge: JudgeNames = None,
    no_mirror: Annotated[
        bool, typer.Option("--no-mirror", help="Do not mirror verdicts to MLflow as Feedback.")
    ] = False,
    allow_errors: Annotated[
        bool,
        typer.Option(
            "--allow-errors", help="Exit 0 even when judges errored more than max_error_rate."
        ),
    ] = False,
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Then name the step that caused each failing verdict (`costar explain`).",
        ),
    ] = False,
    executor: Annotated[
        str | None,
        typer.Option("--executor", help="Where judges run: local (threads, default) or ray."),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray cluster address (default: start a local Ray)."),
    ] = None,
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
    from costar.assess import breach_message, error_breaches

    if not run_ids and not all_runs and not last:
        raise ConfigError("name a RUN_ID (see `costar runs`), or pass --last or --all-runs")
    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    _limit_llm_calls(settings)
    config = assess_config(
        settings,
        run_ids=run_ids or [],
        all_runs=all_runs,
        last=last,
        judges=judge or [],
        mirror=not no_mirror,
        executor=executor,
        address=address,
    )
    summary = run_assess(config)
    breaches = [] if allow_errors else error_breaches(summary, settings.max_error_rate)
    data = summary.to_json()
    explained = _explain_runs(settings, summary.runs, judge) if explain else None
    if as_json:
        emit_json({**data, "explain": explained.to_json()} if explained else data)
    else:
        _print_assess(data)
        if explained is not None:
            from costar.cli._explain import print_summary

            print_summary(explained, verified=False)
    if breaches:
        typer.echo(
            f"costar: {breach_message(summary, breaches, settings.max_error_rate)}", err=True
        )
        exit_code(ExitCode.FINDINGS)


def _explain_runs(settings: Any, runs: list[str], judges: list[str] | None) -> Any:
    from costar.cli._explain import explain_config
    from costar.explain import ExplainSummary, explain

    total = ExplainSummary()
    for run_id in runs:
        part = explain(explain_config(settings, run_id, judges=judges or None))
        total.attributions += part.attributions
        total.traces += part.traces
        total.notes += part.notes
    return total


def _print_assess(data: dict[str, Any]) -> None:
    from costar.assess import SimulatorFaults

    out = console()
    grid = right_aligned(
        table(
            f"verdicts: {data['traces']} traces x {data['judges']} judges",
            ["judge"],
            ["passed", "failed", "error", "skipped", "mean"],
        )
    )
    for name, t in sorted(data["per_judge"].items()):
        mean = "" if t["mean"] is None else f"{t['mean']:.4g}"
        grid.add_row(
            name,
            str(t["passed"]),
            marked(t["failed"], "red"),
            marked(t["error"], "yellow"),
            str(t["skipped"]),
            mean,
        )
    out.print(grid)
    out.print(
        f"scored {data['scored']}, reused {data['cached']} cached, {data['errors']} judge errors, "
        f"mirrored {data['mirrored']} to MLflow, {data['seconds']:.2f} s"
    )
    for run_id, faults in data.get("simulator_faults", {}).items():
        out.print(f"run {run_id[:12]}: {SimulatorFaults(**faults).line()}", soft_wrap=True)
    for warning in data["warnings"]:
        out.print(f"[yellow]warning: {warning}[/]")
    if data["runs"]:
        out.print(f"details: costar verdicts {data['runs'][-1][:12]} --failed")


def verdicts(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix).")],
    judge: JudgeNames = None,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only failing and error verdicts.")
    ] = False,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """List a run's verdicts (the newest per trace and judge)."""
    from costar.assess import VerdictStore, select_verdicts

    settings, store = open_store(tracking_uri, experiment)
    info = store.get_run(run_id)
    chosen = select_verdicts(
        VerdictStore(settings.verdict_url()).for_run(info.run_id), judge, failed
    )
    if as_json:
        emit_json([v.model_dump(mode="json") for v in chosen.verdicts])
        return
    screen = console()
    grid = verdicts_view(f"verdicts of run {info.run_id[:12]}", chosen.verdicts, screen.width)
    if chosen.verdicts:
        screen.print(grid)
    elif not chosen.stored:
        typer.echo(f"no verdicts: run `costar assess {info.run_id[:12]}` first")
    elif not chosen.of_judges:
        typer.echo(f"no verdicts of judge {', '.join(judge or [])} in this run")
    else:
        typer.echo(f"no failing verdicts: {chosen.of_judges} verdicts, none failed or errored")


def verdicts_view(title: str, chosen: list[Any], width: int) -> Any:
    """Verdicts as a table when the rationale has room beside the names (40 cells), else each
    verdict's names on a line with its rationale wrapped below, so no word is cut in two."""
    rows = [([v.scenario_id, str(v.trial), v.judge, _result(v)], _why(v)) for v in chosen]
    names = [("scenario", "trial", "judge", "result")] + [
        (v.scenario_id, str(v.trial), v.judge, "skipped") for v in chosen
    ]
    if fits_beside([max(len(row[i]) for row in names) for i in range(4)], width):
        grid = table(title, ["scenario"], ["trial", "judge", "result", "rationale"])
        grid.columns[2].no_wrap = True
        for cells, why in rows:
            grid.add_row(*cells, why)
        return grid
    return stacked(title, [([s, f"trial {t}", j, r], why) for (s, t, j, r), why in rows])


def _why(v: Any) -> str:
    """The rationale, then each reference passage the verdict cites."""
    text = v.error or v.rationale
    for cited in (v.details or {}).get("references", []):
        passage = " ".join(cited["text"].split())
        text += f'\ncites {cited["ref"]}: "{passage[:240]}"'
    return text


def _result(v: Any) -> str:
    if v.status in ("error", "skipped"):
        return "[yellow]error[/]" if v.status == "error" else "skipped"
    if v.passed is None:
        return f"{v.value}"
    return "[green]pass[/]" if v.passed else "[red]fail[/]"
