"""`costar label` in a real browser: Playwright driving Debian's chromium against the server
on 127.0.0.1, with the labels checked in the MLflow store afterwards."""

from __future__ import annotations

import httpx
import pytest

from _browser import ARGS, require_chromium
from _helpers import write_files
from _judge_project import assess_config, fake_llm, judge_script, record  # noqa: F401
from costar.align import GoldenSet
from costar.align._suggest import suggest
from costar.judges import load_judges
from costar.traces import TraceStore
from costar.web import LabelServer, LabelSession

CHROMIUM = require_chromium()
pytestmark = pytest.mark.slow  # a real browser
XSS = "<script>window.__pwned = 1</script><img src=x onerror='window.__pwned = 2'>"


@pytest.fixture
def served(project, fake_llm):
    write_files(project, {"scenarios/xss.yaml": f"id: xss\ninput: {XSS!r}\n"})
    run_id = record(project, 3)
    fake_llm(judge_script(learned="x"))
    cfg = assess_config(project)
    queue = [
        {"trace_id": s.trace_id, "scenario_id": s.scenario_id, "reasons": s.reasons}
        for s in sorted(suggest(cfg, run_id, "tone", n=10), key=lambda s: s.scenario_id)
    ]
    judges = load_judges(project, cfg.judge_paths, ["tone"])
    with LabelServer(LabelSession(cfg, judges, queue, "ann")) as server:
        yield server, cfg, queue


def test_three_traces_labelled_with_the_keyboard_land_in_the_store(served) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, cfg, queue = served
    answers = [
        ("p", True, "polite and correct"),
        ("f", False, "agreed to a big refund"),
        ("p", True, ""),
    ]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(server.url)
        expect(page.locator("#queue .q")).to_have_count(4)
        for i, (key, _, why) in enumerate(answers):
            expect(page.locator("#trace h1")).to_have_text(f"Scenario {queue[i]['scenario_id']}")
            expect(page.locator("#trace .item.user")).to_have_count(1)
            assert page.locator("#reveal").is_hidden()  # the verdict stays hidden until answered
            page.keyboard.press(key)
            if why:
                page.keyboard.press("r")
                page.keyboard.type(why)
                page.keyboard.press("Escape")
            page.keyboard.press("Enter")
            expect(page.locator("#reveal")).to_contain_text("The judge said")
            expect(page.locator("#reveal")).to_contain_text(
                "ann: " + ("pass" if key == "p" else "fail")
            )
            expect(page.locator("#queue .q.done")).to_have_count(i + 1)
            disagree = page.locator("#reveal", has_text="The judge disagrees with you")
            expect(disagree).to_have_count(1 if key == "f" else 0)  # the judge passes them all
            page.keyboard.press("j")
        browser.close()
    assert problems == []
    labels = GoldenSet(TraceStore(cfg.tracking_uri)).labels(judge="tone")
    got = {lb.trace_id: (lb.value, lb.rationale, lb.labeller) for lb in labels}
    assert got == {
        queue[i]["trace_id"]: (value, why, "ann") for i, (_, value, why) in enumerate(answers)
    }


def test_a_trace_holding_script_renders_as_text_and_does_not_run(served) -> None:
    from playwright.sync_api import expect, sync_playwright

    server, _, queue = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(server.url)
        page.locator("#queue .q", has_text="xss").click()
        expect(page.locator("#trace h1")).to_have_text("Scenario xss")
        expect(page.locator("#trace .item.user pre")).to_have_text(XSS)
        assert page.locator("#trace script, #trace img").count() == 0
        assert page.evaluate("window.__pwned") is None
        browser.close()


def test_a_trace_arriving_after_the_labeller_moved_on_neither_shows_nor_takes_the_label(
    served,
) -> None:
    """The first trace's answer is held back until the labeller has opened another one; when it
    finally arrives it must not replace what the labeller sees, and the label goes on the trace
    shown."""
    import time

    from playwright.sync_api import expect, sync_playwright

    server, cfg, queue = served
    first, last = queue[0], queue[-1]
    held: list = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.route(f"**/api/trace/{first['trace_id']}", lambda route: held.append(route))
        page.goto(server.url)
        deadline = time.monotonic() + 10
        while not held and time.monotonic() < deadline:
            page.wait_for_timeout(20)
        assert held, "the page never asked for the first trace"
        page.locator("#queue .q", has_text=last["scenario_id"]).click()
        expect(page.locator("#trace h1")).to_have_text(f"Scenario {last['scenario_id']}")
        with page.expect_response(lambda r: first["trace_id"] in r.url):
            held[0].continue_()
        page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # let it land
        expect(page.locator("#trace h1")).to_have_text(f"Scenario {last['scenario_id']}")
        page.keyboard.press("f")
        page.keyboard.press("Enter")
        expect(page.locator("#reveal")).to_contain_text("ann: fail")
        browser.close()
    labels = GoldenSet(TraceStore(cfg.tracking_uri)).labels(judge="tone")
    assert [(lb.trace_id, lb.value) for lb in labels] == [(last["trace_id"], False)]


def test_requests_without_the_token_are_refused(served) -> None:
    server, cfg, queue = served
    base = server.base_url
    token = server.session.token
    trace_id = queue[0]["trace_id"]
    assert httpx.get(base + "/").status_code == 403
    assert httpx.get(base + "/?token=wrong").status_code == 403
    assert httpx.get(base + "/api/queue").status_code == 403
    assert httpx.get(base + "/api/trace/" + trace_id).status_code == 403
    body = {"trace_id": trace_id, "judge": "tone", "value": "pass"}
    assert httpx.post(base + "/api/label", json=body).status_code == 403
    # a page fetched through another host name (DNS rebinding) is refused even with the token
    assert httpx.get(f"{base}/?token={token}", headers={"Host": "evil.example"}).status_code == 403
    ok = httpx.get(f"{base}/?token={token}")
    assert ok.status_code == 200 and "script-src 'nonce-" in ok.headers["Content-Security-Policy"]
    # with the token, the verdict is still withheld until this labeller has answered
    auth = {"X-Costar-Token": token}
    assert httpx.get(f"{base}/api/reveal/{trace_id}/tone", headers=auth).status_code == 403
    assert GoldenSet(TraceStore(cfg.tracking_uri)).labels() == []
    saved = httpx.post(base + "/api/label", json=body, headers=auth)
    assert saved.status_code == 200 and saved.json()["verdict"]["passed"] is True
