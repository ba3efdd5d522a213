"""`costar coverage EXPERIMENT`: the share of production the suite covers, and its gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costar.cli._generate import EmbeddingModel, Threshold
from costar.cli._options import JsonFlag, TrackingUri, load_settings
from costar.cli._output import emit_json
from costar.cli._render import console, table


def coverage_config(settings: Any, experiment: str, **flags: Any) -> Any:
    """The CoverageConfig of a project's settings and flags (None: not given)."""
    from costar.discover import CoverageConfig

    return CoverageConfig.from_settings(settings, experiment, **flags)


def coverage(
    experiment: Annotated[str, typer.Argument(help="The production experiment (MLflow).")],
    threshold: Threshold = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Newest conversations read (default: all).")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Uncovered groups shown.")] = 5,
    include_drafts: Annotated[
        bool, typer.Option("--include-drafts", help="Count draft scenarios as coverage.")
    ] = False,
    embedding_model: EmbeddingModel = None,
    html_file: Annotated[
        Path | None, typer.Option("--html", help="Also write the coverage as an HTML page.")
    ] = None,
    tracking_uri: TrackingUri = None,
    as_json: JsonFlag = False,
) -> None:
    """How much of production traffic the suite covers, and its largest gaps.

    The share of production conversations whose nearest scenario is within the similarity
    threshold (with its 95% interval), the largest uncovered groups with example traces, and
    the suite's spread over production groups and over its tags. Reads stored traces only; no
    model unless --embedding-model. `costar report --coverage EXPERIMENT --html FILE` puts the
    same into the HTML report."""
    from costar.discover import coverage as measure

    settings = load_settings(tracking_uri=tracking_uri)
    result = measure(
        coverage_config(
            settings,
            experiment,
            threshold=threshold,
            limit=limit,
            top=top,
            include_drafts=include_drafts,
            embedding_model=embedding_model,
        )
    )
    if html_file:
        from costar.report import coverage_page

        html_file.write_text(coverage_page(result, top), encoding="utf-8")
    if as_json:
        emit_json(result.to_json())
        return
    out = console()
    if result.uncovered:
        grid = table("largest uncovered groups", ["group"], ["conversations", "share", "examples"])
        for g in result.uncovered[:top]:
            examples = "\n".join(f"{x['trace_id'][:12]} {x['text'][:50]}" for x in g.examples[:2])
            grid.add_row(g.name, str(g.conversations), f"{g.share:.0%}", examples)
        out.print(grid)
    spread = table("the suite over production groups", ["group"], ["share", "scenarios"])
    for g in result.groups[: max(top * 2, 10)]:
        spread.add_row(g.name, f"{g.share:.0%}", str(g.scenarios))
    out.print(spread)
    tags = ", ".join(f"{t} {n}" for t, n in result.suite_tags.items())
    out.print(f"scenarios by tag ({result.suite_scenarios}): {tags}", soft_wrap=True)
    out.print(result.line(), soft_wrap=True, highlight=False)
