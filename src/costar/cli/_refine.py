"""`costar refine`: the agent loop."""

from __future__ import annotations

from typing import Annotated

import typer

from costar._exceptions import ExitCode
from costar.cli._options import (
    Experiment,
    JsonFlag,
    JudgeNames,
    TrackingUri,
    load_settings,
    progress_printer,
)
from costar.cli._output import emit_json, exit_code


def refine(
    assistant: Annotated[
        str | None,
        typer.Option(
            "--assistant",
            help="A command run in the worktree, with {brief}, {brief_file}, {worktree} or "
            "{project} filled in (e.g. 'claude -p {brief}', 'codex exec {brief}', 'aider "
            "--message-file {brief_file}'), or 'gepa' for the built-in assistant. Default: "
            "refine_assistant in costar.toml.",
        ),
    ] = None,
    max_iterations: Annotated[
        int, typer.Option("--max-iterations", min=1, help="Attempts at most.")
    ] = 3,
    max_minutes: Annotated[
        float | None, typer.Option("--max-minutes", help="Wall-time budget.")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", help="LLM token budget (the built-in assistant).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--assistant-timeout", help="Seconds one assistant attempt may take.")
    ] = 1800.0,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Use this run as the baseline instead of running it."),
    ] = None,
    holdout_fraction: Annotated[
        float,
        typer.Option(
            "--holdout-fraction",
            help="Without scenarios tagged holdout_tag, hold out "
            "this share of the suite (a stable sample).",
        ),
    ] = 0.25,
    judge: JudgeNames = None,
    trials: Annotated[int, typer.Option("--trials", "-n", min=1, help="Trials per scenario.")] = 1,
    model: Annotated[
        str | None, typer.Option("--model", help="The built-in assistant's model.")
    ] = None,
    budget: Annotated[
        int,
        typer.Option("--budget", help="The built-in assistant's evaluations (GEPA metric calls)."),
    ] = 12,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Let a coding assistant fix the failing scenarios, and keep its change only if nothing
    regresses.

    Red: the baseline run from the last commit. The assistant gets a brief (failing scenarios,
    the judges' rationales and evidence, what must keep passing, the editable agent_files) and
    edits a git worktree on its own branch. Green: the targeted scenarios, then the training
    split, then the held-out split (scenarios tagged holdout, never shown to it) are run and
    judged. Accepted only if the targeted failures are fixed and no scenario regresses on
    either split; otherwise the branch is dropped and the reason feeds the next brief. Nothing
    is merged: the accepted change waits on its branch, with a report in .costar/refine/.
    Exit 0 accepted (or nothing to fix), 1 no attempt accepted.
    """
    from costar.refine import RefineConfig
    from costar.refine import refine as run_refine

    try:
        settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
        config = RefineConfig.from_settings(
            settings,
            assistant=assistant,
            assistant_timeout=timeout,
            model=model,
            gepa_budget=budget,
            holdout_fraction=holdout_fraction,
            max_iterations=max_iterations,
            max_tokens=max_tokens,
            max_minutes=max_minutes,
            trials=trials,
            baseline_run=baseline,
            judges=judge or [],
        )
        say = progress_printer(as_json)
        result = run_refine(config, say)
    except KeyboardInterrupt:
        typer.echo("interrupted: finished attempts are in .costar/refine/; run it again", err=True)
        exit_code(ExitCode.INTERRUPTED)
    if as_json:
        emit_json(result.to_json())
    else:
        accepted = result.accepted
        if accepted:
            typer.echo(f"accepted: {accepted.reason}")
            typer.echo(f"branch {accepted.branch} holds the change; report: {result.report}")
        elif result.status == "nothing-to-fix":
            typer.echo("nothing to fix: every training scenario passes")
        else:
            typer.echo(
                f"no attempt accepted ({len(result.attempts)} tried); report: {result.report}"
            )
    if result.status not in ("accepted", "nothing-to-fix"):
        exit_code(ExitCode.FINDINGS)
