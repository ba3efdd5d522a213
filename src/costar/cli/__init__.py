"""The `costar` command line: thin commands over the library."""

from costar.cli._app import app, main

__all__ = ["app", "main"]
