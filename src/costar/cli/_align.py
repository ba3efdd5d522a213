"""`costar align`: align an LLM judge to the golden set, kept only if agreement rises."""

from __future__ import annotations

from typing import Annotated

import typer

from costar._exceptions import ExitCode
from costar.cli._options import (
    Experiment,
    JsonFlag,
    TrackingUri,
    load_settings,
    progress_printer,
)
from costar.cli._output import emit_json, exit_code


def align(
    judge: Annotated[str, typer.Argument(help="The LLM judge to align (guidelines or agentic).")],
    optimizer: Annotated[
        str,
        typer.Option(
            "--optimizer",
            "-o",
            help="memalign (distils guidelines), gepa or simba "
            "(rewrite the instructions); all through MLflow's judge.align.",
        ),
    ] = "memalign",
    folds: Annotated[int, typer.Option("--folds", "-k", min=2, help="Cross-validation folds.")] = 3,
    model: Annotated[
        str | None, typer.Option("--model", help="The optimizer's model (default: the judge's).")
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", help="gepa: max metric calls; simba: max steps."),
    ] = None,
    embedding_model: Annotated[
        str | None, typer.Option("--embedding-model", help="memalign's embedding model.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Measure only; never write the aligned judge.")
    ] = False,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Align an LLM judge to the golden set, keeping it only if held-out agreement rises.

    k-fold cross-validation: for each fold the optimizer learns from the other folds' labels
    and the held-out fold is scored before and after. When pooled held-out agreement (kappa)
    rises, the judge is aligned on every label and written to judges/aligned/JUDGE.yaml (review
    it in git; delete it to go back). Otherwise nothing changes and the reason is printed.
    Exit 0 accepted, 1 rejected. Re-score past runs with `costar assess RUN --judge JUDGE`.
    """
    from costar.align import AlignConfig, align_judge

    config = AlignConfig.from_settings(
        load_settings(tracking_uri=tracking_uri, experiment=experiment),
        judge=judge,
        optimizer=optimizer,
        folds=folds,
        model=model,
        budget=budget,
        embedding_model=embedding_model,
        write=not dry_run,
    )
    result = align_judge(config, progress=progress_printer(as_json))
    if as_json:
        emit_json(result.to_json())
    else:
        for f in result.folds:
            typer.echo(
                f"fold {f.fold}: train {f.train}, test {f.test}: "
                f"{_fmt(f.before.score)} -> {_fmt(f.after.score)}; {f.change}"
            )
        typer.echo(result.reason)
        if result.path:
            typer.echo(f"aligned judge written to {result.path} (version {result.new_version})")
    if not result.accepted:
        exit_code(ExitCode.FINDINGS)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.2f}"
