"""The `costar` command line: thin commands over the library, composed in `costar.cli.main`."""

from costar.cli.main import app, main

__all__ = ["app", "main"]
