"""`costar discover RUN...`: failure modes found in verdicts and metrics, with draft judges."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costar.cli._generate import EmbeddingModel
from costar.cli._options import Experiment, JsonFlag, TrackingUri, load_settings
from costar.cli._output import emit_json


def discover(
    runs: Annotated[
        list[str], typer.Argument(help="Run ids (or prefixes), or monitor:NAME for its windows.")
    ],
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model that names modes (default COSTAR_JUDGE_MODEL/MODEL)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="The model's seed.")] = 0,
    z: Annotated[
        float, typer.Option("--z", help="Robust z-score above which a metric stands out.")
    ] = 5.0,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder of proposed judges (default judges/proposed)."),
    ] = None,
    propose: Annotated[
        bool, typer.Option("--propose/--no-propose", help="Propose judges for unchecked modes.")
    ] = True,
    embedding_model: EmbeddingModel = None,
    tracking_uri: TrackingUri = None,
    experiment: Experiment = None,
    as_json: JsonFlag = False,
) -> None:
    """Group the runs' failures into named failure modes, with draft judges for unchecked ones.

    Findings are failing verdicts with their rationales, and traces that no judge failed
    whose metrics stand out (robust z-score above --z). Each mode has its count, example
    traces and the judges involved. For a mode no judge checks, a judge is proposed as a
    draft file in judges/proposed/ (not loaded until you move it into judges/). Grouping is
    deterministic; naming and proposals use the model at temperature 0 with --seed.
    """
    from costar.discover import DiscoverConfig
    from costar.discover import discover as find

    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    result = find(
        DiscoverConfig.from_settings(
            settings,
            runs,
            model=model,
            seed=seed,
            z=z,
            out=settings.resolve(out) if out else None,
            propose=propose,
            embedding_model=embedding_model,
        ),
        progress=None if as_json else (lambda line: typer.echo(line, err=True)),
    )
    if as_json:
        emit_json(result.to_json())
        return
    typer.echo(
        f"{result.failing} failing verdict(s) and {result.anomalies} anomalous trace(s) in "
        f"{len(result.runs)} run(s): {len(result.modes)} failure mode(s)"
    )
    for m in result.modes:
        judges = ", ".join(m.judges) or "no judge checks it"
        typer.echo(f"- {m.name}: {len(m.traces)} trace(s); {judges}")
        if m.description:
            typer.echo(f"    {m.description}")
        typer.echo(f"    e.g. {', '.join(m.traces[:3])}")
        if m.proposal:
            tried = m.proposal.get("tried")
            caught = f"; fails {tried['fails']} of {tried['of']} of its traces" if tried else ""
            typer.echo(f"    proposed judge: {m.proposal['path']}{caught}")
    for r in result.proposals_rejected:
        typer.echo(f"proposal rejected for {r['mode']}: {r['reason']}")
    if result.naming_rejected:
        typer.echo(f"{result.naming_rejected} name(s) from the model rejected (terms used)")
    typer.echo(
        f"model: {result.model.calls} call(s), "
        f"{result.model.input_tokens + result.model.output_tokens} tokens; {result.seconds:.1f} s"
    )
