"""`costar scenario from-trace`: production traces become scenarios that load and run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_monitor import JUDGES, T0

from _helpers import run_cli, write_files
from _production import log_in_subprocess
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.scenarios import load_suite

pytestmark = pytest.mark.slow

SETUP = {"files": {"notes.txt": "order 7 shipped"}}


def test_production_traces_become_scenarios_that_load_and_run(project: Path, tmp_path) -> None:
    write_files(project, {k: v for k, v in JUDGES.items() if k.endswith(".py")})
    uri = load_settings(start=project).store_uri()
    convs = [
        {
            "user": "where is order 7?",
            "reply": "It ships.",
            "ts_ms": T0,
            "tags": {"costar.setup": json.dumps(SETUP)},
            "tools": [{"name": "lookup_order", "args": {"id": 7}, "result": {"status": "shipped"}}],
        },
        {"user": "cancel order 8", "reply": "Done, thank you!", "ts_ms": T0 + 1000},
    ]
    ids = log_in_subprocess(uri, "production", convs, tmp_path)
    scored = run_cli(project, "monitor", "--experiment", "production", "--no-mirror")
    assert scored.returncode == 0, scored.stderr
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(json.dumps({"kind": "pass_rate_drop", "examples": [ids[1]]}) + "\n")

    out = run_cli(
        project,
        "scenario",
        "from-trace",
        ids[0],
        "--from-alerts",
        str(alerts),
        "--experiment",
        "production",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    written = json.loads(out.stdout)
    assert [w["written"] for w in written] == [True, True]

    suite = load_suite(project / "scenarios" / "production")
    by_input = {s.scenario.input: s for s in suite.scenarios}
    first, second = by_input["where is order 7?"], by_input["cancel order 8"]
    assert first.scenario.tags == ["production", "regression"]
    assert first.scenario.setup.files["notes.txt"] == "order 7 shipped"  # the recorded state
    assert "failed polite" in first.scenario.description
    assert first.scenario.expectations.guidelines[0].startswith("TODO: what the agent should")
    text = first.path.read_text()
    assert "# The agent called: lookup_order" in text and "#   polite:" in text
    assert "TODO setup: this trace recorded no reference" in second.path.read_text()
    assert second.scenario.expectations.guidelines == []  # it passed: nothing to expect yet

    again = run_cli(project, "scenario", "from-trace", ids[0], "--experiment", "production")
    assert "kept existing" in again.stdout  # reviewed files are never overwritten silently

    settings = load_settings(start=project)
    summary = run_suite(
        RunConfig.from_settings(
            settings, agent="sample_agents:echo", suite=str(project / "scenarios" / "production")
        )
    )
    assert summary.ok == 2 and summary.error == 0


def test_from_trace_needs_ids_and_names_missing_ones(project: Path) -> None:
    none = run_cli(project, "scenario", "from-trace")
    assert none.returncode == 2 and "name TRACE_IDs or --from-alerts FILE" in none.stderr
    missing = run_cli(project, "scenario", "from-trace", "tr-" + "0" * 32)
    assert missing.returncode == 2 and "no such trace" in missing.stderr
