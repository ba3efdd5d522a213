"""The HTML report of real runs in Debian's chromium (Playwright): a failing verdict opens its
trace's transcript in place with the cited span highlighted; a regressed scenario shows the
baseline and candidate traces side by side with a diff; trace text that looks like markup
stays text; nothing is fetched and the console stays clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from _browser import ARGS, require_chromium
from _helpers import run_cli, write_files
from costar.assess import AssessConfig, assess
from costar.config import load_settings
from costar.harness import RunConfig, run_suite

CHROMIUM = require_chromium()
pytestmark = pytest.mark.slow  # a real browser
HOSTILE = (
    "<script>window.__pwned = 1</script></div></details></td></tr></table>"
    '<a href="javascript:window.__pwned = 2">click</a><img src=x onerror="window.__pwned = 3">'
)
AGENT = f"""
import os
import costar


@costar.tool
def read_policy() -> str:
    return "refunds within 30 days"


@costar.tool
def issue_refund(order_id: int) -> str:
    return f"refunded {{order_id}}"


def agent(ctx):
    careless = os.environ.get("REPORT_AGENT_MODE") == "careless" and ctx.scenario_id == "refund-a"
    if not careless:
        read_policy()
    issue_refund(7)
    return {HOSTILE!r} if careless else "Refunded order 7 under the 30-day policy."
"""
FILES = {
    "report_agent.py": AGENT,
    "scenarios/a.yaml": "id: refund-a\ninput: refund order 7\n",
    "scenarios/b.yaml": "id: refund-b\ninput: refund order 7 please\n",
    "judges/policy.yaml": """
        judges:
          - name: policy-first
            use: tool-sequence
            params: {before: [[read_policy, issue_refund]]}
        """,
}


def _record(project: Path) -> str:
    settings = load_settings(start=project)
    config = RunConfig.from_settings(settings, agent="report_agent:agent", trials=2)
    run_id = run_suite(config).run_id
    assess(
        AssessConfig(
            root=project,
            tracking_uri=settings.store_uri(),
            run_ids=[run_id],
            judge_paths=settings.judges,
            verdict_store=settings.verdict_url(),
            mirror=False,
        )
    )
    return run_id


@pytest.fixture
def report(project: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    write_files(project, FILES)
    baseline = _record(project)
    monkeypatch.setenv("REPORT_AGENT_MODE", "careless")
    candidate = _record(project)
    path = project / "report.html"
    done = run_cli(project, "report", candidate, "--baseline", baseline, "--html", str(path))
    assert done.returncode == 0, done.stderr
    return path, baseline, candidate


def _open(p, path: Path):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    requests: list[str] = []
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    return browser, page, requests, problems


def test_a_failure_opens_its_transcript_with_the_evidence_highlighted(report) -> None:
    from playwright.sync_api import expect, sync_playwright

    path, _, candidate = report
    with sync_playwright() as p:
        browser, page, requests, problems = _open(p, path)
        failures = page.locator("#failures tr.failure")
        expect(failures).to_have_count(2)  # refund-a's two trials fail policy-first
        row = failures.first
        assert "issue_refund was called before any read_policy" in row.inner_text()
        cited = row.locator("td").nth(4).inner_text().strip()
        details = page.locator("#failures tr.transcript-row details").first
        transcript = details.locator(".transcript")
        assert not transcript.is_visible()  # closed until the reader opens it
        details.locator("summary").click()
        expect(transcript).to_be_visible()
        marked = transcript.locator(".evidence")
        expect(marked).to_have_count(1)
        assert marked.get_attribute("data-span") == cited  # the span the verdict cites
        expect(marked).to_contain_text("tool issue_refund")
        expect(marked.locator(".mark")).to_have_text("evidence: policy-first")
        expect(marked).to_be_visible()
        style = marked.evaluate("e => getComputedStyle(e).backgroundColor")
        assert style == "rgb(255, 245, 214)"  # highlighted
        # the hostile reply is shown as text inside the transcript and changed nothing
        reply = transcript.locator(".reply pre")
        expect(reply).to_have_text(HOSTILE)
        assert page.evaluate("window.__pwned") is None
        assert page.locator("a[href^='javascript']").count() == 0
        assert page.locator("#failures img, #regressions img, script").count() == 0
        browser.close()
    assert requests == [path.as_uri()]  # the page itself, nothing else
    assert problems == []


def test_a_regression_shows_both_traces_side_by_side_with_a_diff(report) -> None:
    from playwright.sync_api import expect, sync_playwright

    path, baseline, candidate = report
    with sync_playwright() as p:
        browser, page, requests, problems = _open(p, path)
        blocks = page.locator("#regressions .regression")
        expect(blocks).to_have_count(1)  # refund-b did not change
        block = blocks.first
        assert block.get_attribute("data-scenario") == "refund-a"
        expect(block).to_contain_text("policy-first 2/2 -> 0/2")
        left, right = block.locator(".pair > div").all()
        expect(left.locator("h3")).to_have_text("baseline")
        expect(right.locator("h3")).to_have_text("candidate")
        box_l, box_r = left.bounding_box(), right.bounding_box()
        assert box_l and box_r and box_l["x"] + box_l["width"] <= box_r["x"]  # side by side
        assert abs(box_l["y"] - box_r["y"]) < 1
        expect(left.locator(".final-output")).to_have_text(
            "Refunded order 7 under the 30-day policy."
        )
        expect(right.locator(".final-output")).to_have_text(HOSTILE)
        expect(left.locator(".step.tool .name")).to_have_text(
            ["tool read_policy", "tool issue_refund"]
        )
        expect(right.locator(".step.tool .name")).to_have_text(["tool issue_refund"])
        expect(right.locator("tr.verdict.fail")).to_contain_text("policy-first")
        expect(left.locator("tr.verdict.pass", has_text="policy-first")).to_have_count(1)
        diff = block.locator("table.diff")
        expect(diff).to_be_visible()
        removed = " ".join(diff.locator(".diff_sub, .diff_chg").all_inner_texts())
        assert "tool read_policy" in removed.replace("\xa0", " ")  # what the candidate skipped
        added = " ".join(diff.locator(".diff_add, .diff_chg").all_inner_texts())
        assert "window.__pwned" in added  # hostile text, diffed as text
        assert page.evaluate("window.__pwned") is None
        browser.close()
    assert requests == [path.as_uri()]
    assert problems == []
