"""`costar scenario generate` and `costar scenario accept`: draft scenarios, and a person's
acceptance of them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costar._exceptions import UsageError
from costar.cli._options import JsonFlag, TrackingUri, load_settings, progress_printer
from costar.cli._output import emit_json

Threshold = Annotated[
    float | None,
    typer.Option(
        "--threshold",
        help="Cosine similarity at or above which a candidate is a near-duplicate of a scenario "
        "(and a production conversation is covered); default 0.25.",
    ),
]
EmbeddingModel = Annotated[
    str | None,
    typer.Option(
        "--embedding-model",
        help="Compare texts with this embedding model (costar.llm) instead of TF-IDF; "
        "default: the embedding_model setting, else TF-IDF (no model).",
    ),
]


def generate(
    from_spec: Annotated[
        bool, typer.Option("--from-spec", help="From the agent's prompt, skills, tools, suite.")
    ] = False,
    from_traces: Annotated[
        str | None,
        typer.Option("--from-traces", help="From this production experiment's conversations."),
    ] = None,
    prompt: Annotated[
        list[Path] | None, typer.Option("--prompt", help="System prompt file (repeat).")
    ] = None,
    skills: Annotated[
        list[Path] | None, typer.Option("--skills", help="Skills file (repeat).")
    ] = None,
    tools: Annotated[
        str | None,
        typer.Option("--tools", help="Tool schemas: a JSON/YAML file, or module:NAME."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model for --from-spec (default COSTAR_JUDGE_MODEL/MODEL)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed (model and clustering).")] = 0,
    max_drafts: Annotated[int, typer.Option("--max", help="Most drafts written.")] = 12,
    min_size: Annotated[
        int, typer.Option("--min-size", help="Smallest production group drafted.")
    ] = 3,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Newest production conversations read.")
    ] = None,
    threshold: Threshold = None,
    embedding_model: EmbeddingModel = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Drafts folder (default SUITE/generated).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing drafts.")] = False,
    tracking_uri: TrackingUri = None,
    as_json: JsonFlag = False,
) -> None:
    """Write candidate scenario files (drafts) for a person to review.

    --from-spec: from the agent's system prompt (--prompt), skills (--skills), tool schemas
    (--tools) and the existing suite, across intents x personas x edge-case categories
    (ambiguous request, missing data, policy limit, change of mind, adversarial input), with
    the initial state taken from a setup the suite already uses. Needs a model.

    --from-traces EXPERIMENT: one draft per group of production conversations that no
    scenario covers, from the group's most typical trace, with its recorded setup (trace tag
    costar.setup). Grouping uses TF-IDF and clustering: no model.

    Every file is validated by the suite loader before it is written; near-duplicates of
    existing scenarios are dropped and reported. Drafts carry draft: true and the tag
    generated: they are never run or gated until accepted with `costar scenario accept`.
    """
    from costar.discover import (
        FromSpecConfig,
        FromTracesConfig,
        generate_from_spec,
        generate_from_traces,
    )

    if from_spec == bool(from_traces):
        raise UsageError("give one of --from-spec or --from-traces EXPERIMENT")
    settings = load_settings(tracking_uri=tracking_uri)
    common: dict[str, Any] = {
        "out": settings.resolve(out) if out else None,
        "seed": seed,
        "threshold": threshold,
        "max_drafts": max_drafts,
        "embedding_model": embedding_model,
        "force": force,
    }
    if from_traces:
        result = generate_from_traces(
            FromTracesConfig.from_settings(
                settings, from_traces, **common, min_size=min_size, limit=limit
            )
        )
    else:
        if not (prompt or skills or tools):
            raise UsageError("--from-spec needs the spec: --prompt FILE, --skills FILE, --tools")
        result = generate_from_spec(
            FromSpecConfig.from_settings(
                settings,
                **common,
                prompts=[p.resolve() for p in prompt or []],
                skills=[p.resolve() for p in skills or []],
                tools=str(Path(tools).resolve()) if tools and Path(tools).is_file() else tools,
                model=model,
            ),
            progress=progress_printer(as_json),
        )
    if as_json:
        emit_json(result.to_json())
        return
    for w in result.written:
        typer.echo(f"{'wrote' if w.written else 'kept existing'} {w.path} ({w.id})")
    for d in result.duplicates:
        typer.echo(
            f"dropped {d.id}: a near-duplicate of {d.similar_to} "
            f"(similarity {d.similarity:.2f} >= {result.threshold:g})"
        )
    for r in result.rejected:
        typer.echo(f"rejected {r.id}: {r.reason}")
    for note in result.notes:
        typer.echo(note)
    llm = f", {result.model.calls} model calls" if result.model.calls else ", no model calls"
    typer.echo(
        f"{len(result.written)} draft(s), {len(result.duplicates)} near-duplicate(s) dropped, "
        f"{len(result.rejected)} rejected ({result.representation or 'no comparison'}{llm}, "
        f"{result.seconds:.1f} s). Review the drafts, then `costar scenario accept FILE...`."
    )


def accept(
    names: Annotated[list[str], typer.Argument(help="Draft files or scenario ids.")],
    as_json: JsonFlag = False,
) -> None:
    """Accept draft scenarios into the suite, after you reviewed them.

    Their draft: true line is removed (every other
    line and comment stays, the generated tag and source too), and each must still load. From
    then on they run and are gated like any scenario."""
    from costar.discover import accept as accept_drafts

    settings = load_settings()
    done = accept_drafts(names, settings.resolve(settings.suite), settings.allow_outside_fixtures)
    if as_json:
        emit_json([a.to_json() for a in done])
        return
    for a in done:
        state = "accepted" if a.accepted else "not a draft, left as it is:"
        typer.echo(f"{state} {a.id} ({a.path})")
