"""`costar import`: conversations recorded elsewhere as a run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costar.cli._options import Experiment, JsonFlag, TrackingUri, load_settings
from costar.cli._output import emit_json


def import_(
    fmt: Annotated[
        str,
        typer.Argument(
            help="Format: openai-chat (JSONL), tau-bench (JSON) or conversation (generic "
            "messages with role, optional agent name and content; JSON or JSONL)."
        ),
    ],
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

    settings = load_settings(tracking_uri=tracking_uri, experiment=experiment)
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
