"""Options every command shares, and the settings and configs they build.

Nothing here imports mlflow: `costar --help` stays fast.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

TrackingUri = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: the tracking_uri setting, else "
        "sqlite:///<project>/.costar/mlflow.db).",
    ),
]
Experiment = Annotated[
    str | None, typer.Option("--experiment", help="MLflow experiment name (default: costar).")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
JudgeNames = Annotated[
    list[str] | None, typer.Option("--judge", "-j", help="Only this judge (repeat).")
]


def load_settings(**overrides: Any) -> Any:
    """The project's Settings: costar.toml, COSTAR_* variables, then these flags."""
    from costar.config import load_settings as load

    return load(overrides)


def assess_config(settings: Any, **fields: Any) -> Any:
    """`AssessConfig.from_settings`: the project's store, judges and verdict store, then
    `fields` (imported here so that `costar --help` does not import the assess step)."""
    from costar.assess import AssessConfig

    return AssessConfig.from_settings(settings, **fields)


def open_store(tracking_uri: str | None, experiment: str | None) -> tuple[Any, Any]:
    """Settings and the TraceStore they name."""
    from costar.traces import TraceStore

    found = load_settings(tracking_uri=tracking_uri, experiment=experiment)
    return found, TraceStore(found.store_uri(), found.experiment)


def progress_printer(quiet: bool) -> Any:
    """Where a long command's progress lines go: stderr, or nowhere (with --json)."""
    return (lambda _line: None) if quiet else (lambda line: typer.echo(line, err=True))
