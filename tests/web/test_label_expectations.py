"""The labelling page in Debian's chromium (Playwright): beside the trace it shows what the trace
is judged against (the scenario's guidelines and expectations, the judge's own guidelines) and
the final state as tables; hostile text anywhere in them renders as text and never runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from _browser import ARGS, require_chromium
from _helpers import write_files
from _judge_project import assess_config
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.judges import build
from costar.traces import TraceStore
from costar.web import LabelServer, LabelSession

CHROMIUM = require_chromium()
pytestmark = pytest.mark.slow  # a real browser
GUIDELINE = "Checks the policy <script>window.__pwned = 1</script> first"
CELL = "<img src=x onerror='window.__pwned = 2'>"
FILE = "<script>window.__pwned = 3</script><b>bold?</b>"
DESCRIPTION = "Refund <img src=x onerror='window.__pwned = 4'>"

SCENARIO = f"""
id: refund-{{item}}
description: {DESCRIPTION!r}
matrix: {{item: [kettle]}}
input: "Refund my {{item}}"
setup:
  files:
    notes.html: {FILE!r}
  sqlite:
    app.db:
      items: [{{name: {CELL!r}, qty: 2}}, {{name: plain, qty: null}}]
expectations:
  guidelines: [{GUIDELINE!r}]
  facts: [refunded]
  reply_matches: ["refund(ed)?"]
  reply_excludes: [password]
  output_json: {{"$.status": refunded}}
  tool_calls: [{{name: add, args: {{a: 1}}}}]
  budgets: {{tool_calls: 3}}
judges:
  only: [tone]
"""


@pytest.fixture
def served(project: Path):
    write_files(project, {"scenarios/refund.yaml": SCENARIO})
    settings = load_settings(start=project)
    run_id = run_suite(RunConfig.from_settings(settings, agent="sample_agents:db_writer")).run_id
    (row,) = TraceStore(settings.store_uri()).run_traces(run_id)
    queue = [{"trace_id": row.trace_id, "scenario_id": row.scenario_id, "reasons": []}]
    tone = build(
        "guidelines",
        name="tone",
        params={"guidelines": ["Replies <i>politely</i>"], "model": "openai:/judge-model"},
    )
    session = LabelSession(assess_config(project), [build("output-present"), tone], queue, "ann")
    with LabelServer(session) as server:
        yield server


def test_the_page_shows_the_expectations_and_the_state_as_tables_as_text(served) -> None:
    from playwright.sync_api import expect, sync_playwright

    server = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        problems: list[str] = []
        requests: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server.url)
        against = page.locator("#against")
        expect(against.locator("h1")).to_have_text("Judged against")
        expect(against.locator("ul.guidelines li")).to_have_text([GUIDELINE])
        expect(against.locator(".description")).to_have_text(DESCRIPTION)
        expect(against.locator(".variant")).to_have_text('matrix values: item = "kettle"')
        sections = {
            "Facts the replies state": ["refunded"],
            "Replies match (regular expressions)": ["/refund(ed)?/"],
            "No reply says": ["password"],
            "The final output (JSON) has": ['$.status = "refunded"'],
            "Tool calls (subset)": ['add {"a": 1}'],
            "Budgets (at most)": ["tool_calls: 3"],
            "Judges": ["only tone"],
        }
        parts = against.locator(".expectation")
        expect(parts.locator("h2")).to_have_text(list(sections))
        for title, lines in sections.items():
            expect(parts.filter(has_text=title).locator("li")).to_have_text(lines)
        # output-present does not score this scenario (judges.only), and the page says so
        expect(against.locator(".skipped")).to_contain_text("not among the scenario's judges.only")

        trace = page.locator("#trace")
        items = trace.locator(".db-table[data-table='items']")
        expect(items.locator("h3")).to_have_text("items (3 rows)")
        expect(items.locator("th")).to_have_text(["name", "qty"])
        expect(items.locator("tbody tr")).to_have_count(3)
        expect(items.locator("tbody tr").nth(0).locator("td")).to_have_text([CELL, "2"])
        expect(items.locator("tbody tr").nth(1).locator("td")).to_have_text(["plain", "NULL"])
        expect(items.locator("tbody tr").nth(2).locator("td")).to_have_text(["new", "1"])
        files = trace.locator("table.state").first
        expect(files.locator("th")).to_have_text(["file", "bytes", "content"])
        notes = files.locator("tr", has_text="notes.html")
        expect(notes.locator("td pre")).to_have_text(FILE)
        expect(files.locator("tr", has_text="app.db")).to_contain_text("SQLite database")
        expect(files.locator("tr", has_text="out.txt").locator("pre")).to_have_text("done")
        expect(trace).not_to_contain_text('"row_count"')  # tables, not the snapshot's JSON

        # the second judge brings its own guidelines, and scores this scenario
        page.keyboard.press("2")
        expect(against.locator("ul.judge-guidelines li")).to_have_text(["Replies <i>politely</i>"])
        expect(against.locator(".skipped")).to_have_count(0)

        hostile = "#trace script, #trace img, #trace b, #against script, #against img, #against i"
        assert page.locator(hostile).count() == 0
        assert page.evaluate("window.__pwned") is None
        browser.close()
    assert problems == []
    assert requests and all(url.startswith(server.base_url) for url in requests), requests
