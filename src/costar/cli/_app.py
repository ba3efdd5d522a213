"""The application object under its former name (`costar.cli._app.app`); see `main`."""

from costar.cli.main import app, main

__all__ = ["app", "main"]
