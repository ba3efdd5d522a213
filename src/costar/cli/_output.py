"""Printing for the CLI: one-line errors, JSON, and the run summary."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn

import typer

from costar._exceptions import CostarError, ExitCode, ScenarioError


def fail(exc: CostarError) -> NoReturn:
    """Print a costar error without a traceback and exit with its code."""
    if isinstance(exc, ScenarioError):
        for line in exc.problems:
            typer.echo(line, err=True)
    else:
        typer.echo(f"costar: error: {exc}", err=True)
    raise typer.Exit(int(exc.exit_code))


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def exit_code(code: ExitCode) -> NoReturn:
    raise typer.Exit(int(code))
