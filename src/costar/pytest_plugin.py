"""A pytest plugin: each scenario x judge of a judged run becomes a test item.

Opt in with `pytest -p costar.pytest_plugin --costar-run RUN_ID` (or `last`), or
`pytest_plugins = ["costar.pytest_plugin"]` in a conftest. The run must be assessed first
(`costar assess RUN_ID`). An item passes when the share of the scenario's trials the judge
passed is at least `--costar-min-rate` (default 1.0: every trial); a judge error is a test
error; a judge that did not apply is a skip. Metrics without a budget are not tests.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from costar._exceptions import CostarError, ExitCode


class CostarFailure(CostarError):
    """A judge failed a scenario."""

    exit_code = ExitCode.FINDINGS


class CostarJudgeError(CostarError):
    """A judge could not judge (its verdicts have status error)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("costar", "costar: scenarios x judges as tests")
    group.addoption(
        "--costar-run",
        default=None,
        help="Judged run to turn into tests: a run id (prefix) or 'last'.",
    )
    group.addoption(
        "--costar-min-rate",
        type=float,
        default=1.0,
        help="Share of a scenario's trials a judge must pass (default 1.0).",
    )


class CostarItem(pytest.Item):
    """One scenario x judge."""

    def __init__(self, *, verdicts: list[Any], min_rate: float, **kwargs: Any):
        super().__init__(**kwargs)
        self.verdicts = verdicts
        self.min_rate = min_rate

    def runtest(self) -> None:
        errors = [v for v in self.verdicts if v.status == "error"]
        if errors:
            raise CostarJudgeError(f"judge error on {len(errors)} trial(s): {errors[0].error}")
        judged = [v for v in self.verdicts if v.passed is not None]
        if not judged:
            pytest.skip(self.verdicts[0].rationale or "the judge did not apply")
        rate = sum(v.passed for v in judged) / len(judged)
        if rate < self.min_rate:
            lines = [f"passed {rate:.0%} of {len(judged)} trial(s) (needs {self.min_rate:.0%})"]
            lines += [
                f"  trial {v.trial}: {v.rationale} (trace {v.trace_id}, evidence "
                f"{', '.join(v.evidence) or 'none'})"
                for v in judged
                if not v.passed
            ]
            raise CostarFailure("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, (CostarFailure, CostarJudgeError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, None, str]:
        return self.path, None, self.name


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    run = config.getoption("costar_run")
    if not run:
        return
    from costar._env import quiet_dependencies

    quiet_dependencies()
    with warnings.catch_warnings():  # dependencies' deprecations are not the user's business
        warnings.simplefilter("ignore", DeprecationWarning)
        _collect(session, config, items, run)


def _collect(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item], run: str
) -> None:
    from costar.assess import VerdictStore
    from costar.config import load_settings
    from costar.traces import TraceStore

    settings = load_settings(start=config.rootpath)
    store = TraceStore(settings.store_uri(), settings.experiment)
    from costar._exceptions import CostarError

    try:
        run_id = store.resolve_run(None if run == "last" else run).run_id
    except CostarError as exc:
        raise pytest.UsageError(f"costar: {exc}") from exc
    grouped: dict[tuple[str, str], list[Any]] = {}
    for v in VerdictStore(settings.verdict_url()).for_run(run_id):
        if v.kind == "metric" and v.passed is None:
            continue
        grouped.setdefault((v.scenario_id, v.judge), []).append(v)
    if not grouped:
        raise pytest.UsageError(
            f"costar: run {run_id[:12]} has no verdicts; run `costar assess {run_id[:12]}` first"
        )
    min_rate = config.getoption("costar_min_rate")
    for (scenario, judge), verdicts in sorted(grouped.items()):
        items.append(
            CostarItem.from_parent(
                session, name=f"{scenario}::{judge}", verdicts=verdicts, min_rate=min_rate
            )
        )
