"""`costar explain`: which step caused each failing verdict, optionally verified by replay."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from costar.cli._options import Experiment, JsonFlag, JudgeNames, TrackingUri, load_settings
from costar.cli._output import emit_json


def explain_config(settings: Any, target: str, **fields: Any) -> Any:
    """An ExplainConfig from the project's settings and the flags (None: not given)."""
    from costar.explain import ExplainConfig

    return ExplainConfig.from_settings(settings, target, **fields)


def explain(
    target: Annotated[
        str, typer.Argument(help="A trace id (tr-...), or a run id: each failing trace of it.")
    ],
    judge: JudgeNames = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="The attributor's model (default: the judges' model)."),
    ] = None,
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Check each attribution: replay the trial to the step, substitute the "
            "proposed correction, continue live, re-judge (confirmed / refuted / unverifiable).",
        ),
    ] = False,
    trials: Annotated[
        int | None, typer.Option("--trials", "-n", help="Counterfactual trials per attribution.")
    ] = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Name the earliest step that caused each failing verdict: deterministic evidence first
    (a failing tool result, an error, a forbidden call, the first state change a final-state
    check contradicts), then an agentic attributor on the judges' model.

    With --verify each claim is an experiment: confirmed only when the corrected replay flips
    the verdict in every trial. Attributions are kept for `costar refine`'s brief.
    """
    from costar.explain import explain as run_explain

    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    config = explain_config(
        settings, target, judges=judge or None, model=model, verify=verify, trials=trials
    )
    say = (lambda m: None) if as_json else (lambda m: typer.echo(m, err=True))
    summary = run_explain(config, say)
    if as_json:
        emit_json(summary.to_json())
        return
    print_summary(summary, verify)


def print_summary(summary: Any, verified: bool) -> None:
    """The attributions, one block per failing verdict, then the counts."""
    if not summary.attributions:
        typer.echo("no failing verdicts to explain")
        return
    for a in summary.attributions:
        typer.echo(f"{a.scenario_id}#{a.trial} {a.trace_id}")
        for e in a.evidence:
            typer.echo(f"  evidence: step {e.step} ({e.rule}): {e.reason}")
        typer.echo(f"  cause ({a.method}, confidence {a.confidence:.2f}): {a.line()}")
        if a.verification is not None:
            v = a.verification
            run = f" run {v.run_id[:12]}" if v.run_id else ""
            typer.echo(f"  verify: {v.status}{run}: {v.reason}")
    for note in summary.notes:
        typer.echo(f"note: {note}")
    counts = summary.counts
    if verified:
        typer.echo(
            f"attributions: {len(summary.attributions)}; confirmed {counts['confirmed']}, "
            f"refuted {counts['refuted']}, unverifiable {counts['unverifiable']}"
        )
    else:
        typer.echo(f"attributions: {len(summary.attributions)} (unverified: add --verify)")
