"""The HTML report in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest

from _browser import ARGS, require_chromium
from _helpers import make_verdict
from costar.assess import compare_runs, summarise
from costar.judges import Verdict
from costar.report import ReportInput, render_html

CHROMIUM = require_chromium()
pytestmark = pytest.mark.slow  # a real browser


def v(
    judge: str,
    scenario: str,
    trial: int,
    passed=None,
    value=None,
    status="ok",
    kind="check",
    rationale: str = "",
) -> Verdict:
    return make_verdict(
        judge,
        scenario,
        trial,
        passed,
        value,
        status,
        kind,
        rationale=rationale,
        evidence=["a1b2c3"] if passed is False else [],
        error="LLMServerError: down" if status == "error" else None,
    )


def report(tmp_path: Path) -> Path:
    base = [v("facts", s, t, True) for s in "abcdef" for t in range(2)]
    cand = [
        v("facts", s, t, s not in "ab" or t == 0, rationale="<b>never</b> said 'refund'")
        for s in "abcdef"
        for t in range(2)
    ]
    cand += [v("tokens", s, 0, value=100 * (i + 1), kind="metric") for i, s in enumerate("abc")]
    cand += [v("guidelines", "a", 0, status="error", kind="llm")]
    page = render_html(
        ReportInput(
            run_id="cand0123456789",
            run_name="nightly",
            agent="shop:agent",
            agent_version="git:abc",
            summary=summarise(cand),
            verdicts=cand,
            baseline_id="base0123456789",
            deltas=compare_runs(base, cand),
            ui_url="http://127.0.0.1:5000",
            experiment_id="7",
        )
    )
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def test_report_renders_charts_failures_and_trace_links(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    path = report(tmp_path)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        external: list[str] = []
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on(
            "request", lambda r: external.append(r.url) if not r.url.startswith("file:") else None
        )
        page.goto(path.as_uri())
        bars = page.locator("#rates rect.bar")
        assert bars.count() == 1 and bars.first.get_attribute("data-judge") == "facts"
        width = float(bars.first.get_attribute("width"))
        assert width == pytest.approx(520 * 10 / 12, abs=0.2)  # 10 of 12 trials passed
        assert page.locator("#rates line.baseline").count() == 1
        failures = page.locator("#failures tr.failure")
        assert failures.count() == 3  # two failing trials and one judge error
        first = failures.nth(0)  # sorted by judge, scenario, trial
        assert "<b>never</b> said 'refund'" in first.inner_text()  # escaped, shown as text
        link = first.locator("a.trace")
        assert link.get_attribute("href") == (
            "http://127.0.0.1:5000/#/experiments/7/traces?selectedEvaluationId=tr-factsa1"
        )
        assert "a1b2c3" in first.inner_text()
        assert "LLMServerError: down" in failures.nth(2).inner_text()
        assert page.locator("#comparison tr.fail").count() == 0  # too few scenarios to test
        assert page.locator("#metrics tr").count() == 2
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert shot.stat().st_size > 10_000
    assert external == []  # self-contained: nothing fetched from anywhere
    assert problems == []  # no console errors
