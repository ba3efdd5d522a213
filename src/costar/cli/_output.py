"""Printing for the CLI: one-line errors, JSON and exit codes."""

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


def cannot_listen(port: int, exc: OSError) -> NoReturn:
    """A server that could not bind its port: a usage problem, said on one line."""
    typer.echo(f"costar: error: cannot listen on 127.0.0.1:{port}: {exc}", err=True)
    exit_code(ExitCode.USAGE)


def echo_changes(changes: list[str]) -> None:
    """The dependency changes between two runs, when there are any."""
    if changes:
        typer.echo("dependencies changed between the runs (the agent may not be the cause):")
        for line in changes:
            typer.echo(f"  - {line}")


def limit_llm_calls(settings: Any) -> None:
    """Apply the `rate_limits` setting to this process's LLM calls (and its Ray workers')."""
    if settings.rate_limits:
        from costar.llm import configure_rate_limits

        configure_rate_limits(settings.rate_limits)
