"""`costar coverage` and `costar scenario generate --from-traces` on a constructed production
set (logged by MLflow's own tracing, as a production agent logs) whose uncovered groups are
known: cancellations and questions about stock, which no scenario of the suite covers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _shop import COUNTS, UNCOVERED, production, shop_project

from _helpers import run_cli
from _production import log_in_subprocess
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.scenarios import load_file, load_suite

pytestmark = pytest.mark.slow


@pytest.fixture
def shop(project: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The shop project with its production traces stored; trace id -> intent."""
    shop_project(project)
    pairs = production(project)
    uri = load_settings(start=project).store_uri()
    ids = log_in_subprocess(uri, "production", [c for _, c in pairs], tmp_path)
    return project, {t: intent for t, (intent, _) in zip(ids, pairs, strict=True)}


def test_coverage_finds_the_known_uncovered_groups(shop) -> None:
    project, intents = shop
    out = run_cli(project, "coverage", "production", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    total = sum(COUNTS.values())
    assert data["conversations"] == total
    covered_intents = sum(n for k, n in COUNTS.items() if k not in UNCOVERED)
    # every conversation of an uncovered intent is uncovered; most covered ones are covered
    assert 0.6 * covered_intents / total <= data["share"] <= covered_intents / total
    assert data["ci"][0] <= data["share"] <= data["ci"][1]
    gaps = data["uncovered"]
    found = [{intents[e["trace_id"]] for e in g["examples"]} for g in gaps]
    assert {"cancel"} in found and {"stock"} in found  # each group is one intent
    cancel = next(g for g, f in zip(gaps, found, strict=True) if f == {"cancel"})
    assert cancel["conversations"] == COUNTS["cancel"] and "cancel" in cancel["name"]
    assert all(intents[e["trace_id"]] not in UNCOVERED for g in data["groups"] if g["covered"]
               for e in g["examples"])  # fmt: skip
    assert data["suite"]["tags"] == {"common": 2, "edge": 1, "escalation": 1, "orders": 1,
                                     "refunds": 1}  # fmt: skip
    # the suite's scenarios sit in the covered groups, none in the gaps
    assert sum(g["scenarios"] for g in data["groups"]) == 3
    assert all(g["scenarios"] == 0 for g in gaps)

    text = run_cli(project, "coverage", "production")
    assert text.returncode == 0 and text.stdout.strip().splitlines()[-1].startswith("coverage: ")
    assert "cancel order" in text.stdout


def test_coverage_is_in_the_html_report(shop) -> None:
    project, _ = shop
    ran = run_cli(project, "run", "--agent", "sample_agents:echo")
    assert ran.returncode == 0, ran.stderr
    assert run_cli(project, "assess", "--last").returncode == 0
    html = project / "report.html"
    made = run_cli(project, "report", "--html", str(html), "--coverage", "production")
    assert made.returncode == 0, made.stderr
    page = html.read_text()
    assert 'id="coverage"' in page and 'id="uncovered"' in page and "cancel order" in page
    alone = project / "coverage.html"
    assert run_cli(project, "coverage", "production", "--html", str(alone)).returncode == 0
    assert "production conversations" in alone.read_text()


def test_generate_from_traces_writes_one_loadable_draft_per_uncovered_group(shop) -> None:
    project, intents = shop
    out = run_cli(project, "scenario", "generate", "--from-traces", "production", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    drafted = sorted(intents[w["trace_id"]] for w in result["written"])
    assert drafted == sorted(UNCOVERED)  # one per uncovered group, none for covered ones
    assert result["llm"]["calls"] == 0 and result["rejected"] == []
    for w in result["written"]:
        loaded, problems, _ = load_file(Path(w["path"]), (project / "scenarios").resolve())
        assert problems == []
        s = loaded[0].scenario
        assert s.draft and s.source == "generated" and "generated" in s.tags
        assert s.setup.seeds()["shop.db"].sql_from == "../fixtures/shop.sql"  # recorded setup
        assert w["trace_id"] in Path(w["path"]).read_text()

    again = run_cli(project, "scenario", "generate", "--from-traces", "production", "--json")
    second = json.loads(again.stdout)
    # the drafts now cover those groups: nothing new is proposed
    assert second["written"] == [] and second["candidates"] == 0

    # drafts are not run until accepted
    settings = load_settings(start=project)
    summary = run_suite(RunConfig.from_settings(settings, agent="sample_agents:echo"))
    assert summary.scenarios == 3 and summary.drafts_skipped == 2
    first = result["written"][0]
    accepted = run_cli(project, "scenario", "accept", first["id"])
    assert accepted.returncode == 0 and f"accepted {first['id']}" in accepted.stdout
    text = Path(first["path"]).read_text()
    assert "draft: true" not in text and "# Generated by" in text  # comments kept
    suite = load_suite(project / "scenarios")
    assert first["id"] in suite.ids and suite.drafts_skipped == 1
    assert "generated" in suite.get(first["id"]).scenario.tags
