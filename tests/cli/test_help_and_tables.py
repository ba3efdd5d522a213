"""What a person reads in the terminal: help as paragraphs, tables that never break a name.

In-process through typer's CliRunner and rich's recording console: no subprocess needed.
"""

from __future__ import annotations

import io
import random

import pytest
from rich.console import Console
from typer.testing import CliRunner

from costar.assess import compare_runs, summarise
from costar.cli import app
from costar.cli._render import paragraphs
from costar.cli._report import report_tables
from costar.judges import Verdict


def _help(*args: str) -> str:
    done = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "2000"})
    assert done.exit_code == 0, done.output
    return "\n".join(line.strip(" │") for line in done.output.splitlines())


def test_label_help_keeps_its_sentence_whole() -> None:
    # the docstring breaks this sentence after "person"; the help must not
    assert "It shows each trace as a person reads it (conversation, tool calls" in _help("label")


@pytest.mark.parametrize(
    "command",
    [("label",), ("align",), ("refine",), ("monitor",), ("gate",), ("plan",), ("judges", "check")],
)
def test_help_shows_every_paragraph_of_the_docstring_unbroken(command: tuple[str, ...]) -> None:
    from costar.cli.main import app as composed

    group = composed
    for word in command[:-1]:
        group = next(g.typer_instance for g in group.registered_groups if g.name == word)
    (info,) = [
        c for c in group.registered_commands if (c.name or c.callback.__name__) == command[-1]
    ]
    shown = _help(*command)
    for paragraph in paragraphs(info.callback.__doc__).split("\n\n"):
        assert paragraph in shown, f"{' '.join(command)} --help breaks: {paragraph[:60]}"


JUDGES = [
    "output-present",
    "expected-tool-calls",
    "expected-facts",
    "final-state",
    "no-repeated-failures",
    "policy-before-refund",
    "refund-under-budget",
    "follows-guidelines",
    "policy-explorer",
    "metric:total_tokens",
    "metric:tool_error_rate",
]
SCENARIOS = ["refund-within-policy", "refund-outside-window", "order-status-lookup"]


def _verdicts(run: str, seed: int) -> list[Verdict]:
    rng = random.Random(seed)
    out = []
    for judge in JUDGES:
        metric = judge.startswith("metric:")
        for sid in SCENARIOS:
            for trial in range(3):
                out.append(
                    Verdict(
                        judge=judge,
                        judge_version="v1",
                        kind="metric" if metric else "check",
                        trace_id=f"tr-{run}-{sid}-{trial}",
                        run_id=run,
                        scenario_id=sid,
                        trial=trial,
                        passed=None if metric else rng.random() < 0.6,
                        value=rng.randint(100, 5000) if metric else None,
                    )
                )
    return out


@pytest.mark.parametrize("with_baseline", [False, True])
def test_report_tables_at_80_columns_keep_every_judge_name_whole(with_baseline: bool) -> None:
    candidate = _verdicts("cand", 1)
    baseline = _verdicts("base", 2)
    summary = summarise(candidate)
    deltas = compare_runs(baseline, candidate) if with_baseline else {}
    base = "base0123456789" if with_baseline else None
    tables = report_tables("cand0123456789", summary, deltas, base, width=80)
    out = io.StringIO()
    screen = Console(file=out, width=80, color_system=None)
    for table in tables:
        screen.print(table)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    shown = "\n".join(lines)
    for s in summary.values():  # nothing cut off at the right edge, no value broken
        assert s.median is None or f"{s.median:.4g} / {s.p90:.4g}" in shown
        for scenario in s.flaky:
            assert scenario in shown
    assert "median / p90" in shown
    for name in JUDGES:
        assert name in shown, f"{name} is broken or cut in:\n{shown}"
        if with_baseline:  # in both tables
            assert sum(line.count(name) for line in lines) >= 2, name


def _screen(renderable: object, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(renderable)
    return out.getvalue().splitlines()


CITED = "docs/refunds.md#144"


@pytest.mark.parametrize("width", [80, 100, 200])
def test_verdicts_keep_a_cited_reference_whole_at_any_width(width: int) -> None:
    from costar.cli._assess import verdicts_view

    rationale = f"The reply confirms a refund without the amount; the house style ({CITED}) asks"
    chosen = [
        Verdict(
            judge="best-practices",
            judge_version="v1",
            kind="llm",
            trace_id=f"tr-{trial}",
            run_id="run",
            scenario_id="refund-outside-window",
            trial=trial,
            passed=False,
            rationale=rationale,
            details={"references": [{"ref": CITED, "text": "A reply states the amount. " * 9}]},
        )
        for trial in range(2)
    ]
    lines = _screen(verdicts_view("verdicts of run run", chosen, width), width)
    assert max(len(line) for line in lines) <= width
    shown = "\n".join(lines)
    # the passage is cited once per verdict and the rationale names it once: never cut in two
    assert shown.count(CITED) == 2 * len(chosen), shown
    assert shown.count("refund-outside-window") == len(chosen)


@pytest.mark.parametrize("width", [80, 120, 200])
def test_runs_table_never_squeezes_a_column_to_nothing(width: int) -> None:
    from costar.cli._runs import runs_table

    rows = [
        {
            "run_id": f"{n:x}" * 32,
            "name": "counterfactual tr-f9dc1bb4b97 step 4",
            "status": "FINISHED",
            "started": "2026-12-02T05:53:29",
            "counts": {"ok": 26, "error": 1, "timeout": 0},
            "agent_version": "git:35ca755c0f8e files:95dab9b405b4",
        }
        for n in (10, 11)
    ]
    lines = _screen(runs_table("runs", rows, width), width)
    assert max(len(line) for line in lines) <= width
    shown = "\n".join(lines)
    assert "││" not in shown and "┃┃" not in shown, shown
    for r in rows:  # the prefix every command accepts, the status and the version stay whole
        assert r["run_id"][:12] in shown
    for word in ("FINISHED", "git:35ca755c0f8e", "files:95dab9b405b4"):
        assert shown.count(word) == 2, (word, shown)
