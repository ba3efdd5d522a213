"""The `costar` application: every command, composed in one place.

Each verb lives in its own module and only parses, builds its config, calls the library and
renders. Here they are registered (help texts read as paragraphs, see `_render.paragraphs`),
and one handler turns any `CostarError` into its one-line message and exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperGroup

from costar._exceptions import CostarError
from costar.cli import (
    _align,
    _assess,
    _coverage,
    _discover,
    _explain,
    _fake_llm,
    _gate,
    _generate,
    _import,
    _judges,
    _label,
    _monitor,
    _refine,
    _report,
    _run,
    _runs,
    _scenario,
)
from costar.cli._output import fail
from costar.cli._render import paragraphs


class _CostarGroup(TyperGroup):
    """The top command group: the one place a costar error becomes an exit code."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except CostarError as exc:
            fail(exc)


def _group(help_text: str) -> typer.Typer:
    return typer.Typer(help=help_text, no_args_is_help=True, add_completion=False)


def _add(group: typer.Typer, command: Callable[..., Any], name: str | None = None) -> None:
    group.command(name, help=paragraphs(command.__doc__))(command)


# the `costar` Typer application (tests drive it in-process with typer.testing.CliRunner)
app = typer.Typer(
    name="costar",
    cls=_CostarGroup,
    help=(
        "Test and refine AI agents like software: scenarios are fixtures, recorded traces are "
        "test runs, judges are the test suite.\n\n"
        "Start with `costar run SUITE --agent pkg.module:function`, then `costar runs` and "
        "`costar show RUN_ID`. Configuration: costar.toml (found upward), COSTAR_* variables, "
        "flags. Exit codes: 0 ok, 1 findings, 2 usage error, 3 infrastructure error, "
        "130 interrupted."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _command, _name in (
    (_run.run, None),
    (_runs.runs, None),
    (_runs.show, None),
    (_runs.schema, None),
    (_assess.assess, None),
    (_assess.verdicts, None),
    (_import.import_, "import"),
    (_report.report, None),
    (_gate.gate, None),
    (_gate.ci_command, "ci"),
    (_gate.plan, None),
):
    _add(app, _command, _name)

judges_app = _group("Inspect the project's judges.")
for _judges_command, _judges_name in (
    (_judges.judges_list, "list"),
    (_judges.judges_consistency, "consistency"),
    (_judges.judges_agreement, "agreement"),
    (_judges.judges_check, "check"),
):
    _add(judges_app, _judges_command, _judges_name)
app.add_typer(judges_app, name="judges")

fake_llm_app = _group("The scripted OpenAI-compatible fake LLM (offline tests and demos).")
_add(fake_llm_app, _fake_llm.fake_llm_serve, "serve")
app.add_typer(fake_llm_app, name="fake-llm")

_add(app, _label.label)
_add(app, _align.align)
_add(app, _monitor.monitor)

scenario_app = _group(
    "Scenario files: make them from production traces, generate drafts, accept drafts."
)
_add(scenario_app, _scenario.from_trace, "from-trace")
_add(scenario_app, _generate.generate, "generate")
_add(scenario_app, _generate.accept, "accept")
app.add_typer(scenario_app, name="scenario")
_add(app, _coverage.coverage)
_add(app, _discover.discover)

_add(app, _refine.refine)
_add(app, _explain.explain)


def main() -> None:
    """Console-script entry point."""
    from costar import _signals
    from costar._env import quiet_dependencies

    quiet_dependencies()
    _signals.install()  # SIGTERM stops as Ctrl-C does
    app()
