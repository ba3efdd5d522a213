"""`costar report --history N`: a suite's last runs, from a real store. The runs are recorded by
the harness; their verdicts are written with known pass patterns and metric values (one run
holds a token spike, one run's dependencies changed), so the history's rates, intervals,
outliers and marks can be checked against numbers worked out here. The plots are checked in
Debian's chromium through Playwright."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from _browser import ARGS, require_chromium
from _helpers import make_verdict, run_cli, write_files
from costar.assess import VerdictStore, wilson
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.monitor import AlertPolicy, robust_outliers
from costar.report import history, sparkline
from costar.traces import TraceStore

CHROMIUM = require_chromium()
pytestmark = pytest.mark.slow  # a real browser
PASSES = [6, 5, 4, 6, 3]  # trials passing `facts` per run, of 6
HOSTILE = '<a href="javascript:window.__pwned=1">x</a><script>window.__pwned=2</script>'
SPIKE = 10_000  # one trial's tokens in the last run


def tokens(run: int, index: int) -> float:
    return SPIKE if (run, index) == (4, 0) else 100 + 5 * (index % 3)


@pytest.fixture
def recorded(project: Path) -> tuple[Path, list[str]]:
    write_files(
        project,
        {f"scenarios/s{i}.yaml": f"id: s{i}\ntags: [t{i}]\ninput: q{i}\n" for i in range(3)},
    )
    settings = load_settings(start=project)
    verdicts = VerdictStore(settings.verdict_url())
    store = TraceStore(settings.store_uri())
    run_ids = []
    for run, passes in enumerate(PASSES):
        if run == 3:  # from here on the runs record a dependency
            with (project / "costar.toml").open("a") as fh:
                fh.write('dependencies = ["httpx"]\n')
            settings = load_settings(start=project)
        name = HOSTILE if run == 2 else f"nightly {run}"
        config = RunConfig.from_settings(settings, agent="sample_agents:echo", trials=2, name=name)
        run_id = run_suite(config).run_id
        rows = sorted(store.run_traces(run_id), key=lambda r: (r.scenario_id, r.trial))
        found = []
        for index, row in enumerate(rows):
            common = {"trace_id": row.trace_id, "run_id": run_id}
            found.append(make_verdict("facts", row.scenario_id, row.trial, index < passes,
                                      **common))  # fmt: skip
            found.append(
                make_verdict(
                    "metric:total_tokens",
                    row.scenario_id,
                    row.trial,
                    None,
                    tokens(run, index),
                    kind="metric",
                    **common,
                )  # fmt: skip
            )
        verdicts.write(found)
        run_ids.append(run_id)
    # neither a run of another suite (a tag filter) nor an unassessed run is a point
    run_suite(RunConfig.from_settings(settings, agent="sample_agents:echo", tags=["t1"]))
    run_suite(RunConfig.from_settings(settings, agent="sample_agents:echo"))
    return project, run_ids


def test_history_rates_outliers_and_dependency_marks(recorded) -> None:
    project, run_ids = recorded
    settings = load_settings(start=project)
    store = TraceStore(settings.store_uri())
    found = history(store, VerdictStore(settings.verdict_url()), last=5)
    assert [r.run_id for r in found.runs] == run_ids  # oldest first, the newest unassessed out
    assert len(found.unassessed) == 1
    facts = found.judges["facts"]
    assert [p.rate for p in facts if p] == [x / 6 for x in PASSES]
    assert [p.ci for p in facts if p] == [wilson(x, 6) for x in PASSES]
    metric = found.metrics["metric:total_tokens"]
    assert [p.outlier for p in metric if p] == [False, False, False, False, True]
    last = sorted(tokens(4, i) for i in range(6))
    assert metric[4] and metric[4].n == 6
    assert (metric[4].median, metric[4].p90) == (107.5, last[4] + 0.5 * (last[5] - last[4]))
    # the monitor's own rule, on the same numbers, says the same
    base = [tokens(r, i) for r in (1, 2, 3) for i in range(6)]
    assert robust_outliers([tokens(4, i) for i in range(6)], base, AlertPolicy()) != []
    assert metric[0] and metric[0].max_z is None  # no runs before it: not tested
    changed = [bool(r.dependency_changes) for r in found.runs]
    assert changed == [False, False, False, True, False]
    assert found.runs[3].dependency_changes[0].startswith("python httpx: not declared -> ")
    three = history(store, VerdictStore(settings.verdict_url()), last=3, run_id=run_ids[3])
    assert [r.run_id for r in three.runs] == run_ids[1:4]  # up to the run named

    done = run_cli(project, "report", "--history", "5", env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "│ facts" in x)
    assert sparkline([x / 6 for x in PASSES], 0, 1) == "█▇▆█▅" and "█▇▆█▅" in line
    assert "50% [19%, 81%]" in line  # the last run's 3 of 6 with its Wilson interval
    out = done.stdout
    assert "    !" in out  # under the fifth run of the token medians
    assert f"  4 {run_ids[3]}" in out and "dependency changed: python httpx" in out
    assert "outlier metric:total_tokens: 1 trial(s) above robust z 5" in out
    assert HOSTILE in out  # the run's name is never read as markup


def test_history_plots_in_the_browser(recorded) -> None:
    from playwright.sync_api import expect, sync_playwright

    project, run_ids = recorded
    path = project / "history.html"
    done = run_cli(project, "report", "--history", "5", "--html", str(path))
    assert done.returncode == 0, done.stderr
    assert f"history report written to {path}" in done.stdout
    assert path.stat().st_size < 6_000_000  # plotly.js inlined: one file
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        problems: list[str] = []
        page.on(
            "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0
        )
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri())
        expect(page.locator("#plot-rates .scatterlayer .point")).to_have_count(5)
        plotted = page.evaluate(
            "() => document.getElementById('plot-rates').data"
            ".map(t => ({name: t.name, x: t.x, y: t.y, up: t.error_y.array}))"
        )
        assert [t["name"] for t in plotted] == ["facts"]
        assert plotted[0]["y"] == [x / 6 for x in PASSES]  # the points are the runs' rates
        assert plotted[0]["x"] == [1, 2, 3, 4, 5]
        assert plotted[0]["up"] == pytest.approx([wilson(x, 6)[1] - x / 6 for x in PASSES])
        # each point's position on the page is its rate on the axis
        ys = page.evaluate(
            """() => { const gd = document.getElementById('plot-rates');
                 return Array.from(gd.querySelectorAll('.scatterlayer .point')).map(
                   pt => gd._fullLayout.yaxis.p2l(pt.transform.baseVal[0].matrix.f)); }"""
        )
        assert ys == pytest.approx([x / 6 for x in PASSES], abs=0.01)
        metric = page.locator("[data-metric='metric:total_tokens']")
        marks = metric.evaluate("gd => gd.data.map(t => [t.name, t.x, t.y])")
        assert marks[0][:2] == ["median", [1, 2, 3, 4, 5]]
        assert marks[2] == ["outlier (robust z > 5)", [5], [107.5]]
        shapes = page.evaluate("() => document.getElementById('plot-rates').layout.shapes")
        assert [s["x0"] for s in shapes] == [4]  # where the dependencies changed
        # hovering a point names its run; the hostile run name stays text
        page.evaluate(
            "() => Plotly.Fx.hover(document.getElementById('plot-rates'),"
            " [{curveNumber: 0, pointNumber: 2}])"
        )
        hover = page.locator("#plot-rates .hoverlayer")
        expect(hover).to_contain_text(run_ids[2])
        expect(hover).to_contain_text("<script>window.__pwned=2</script>")
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.evaluate("window.__pwned") is None
        expect(page.locator("#runs tr.run").nth(2)).to_contain_text(HOSTILE)
        expect(page.locator("#runs tr.run").nth(3)).to_contain_text("python httpx: not declared")
        browser.close()
    assert requests == [path.as_uri()]
    assert problems == []
