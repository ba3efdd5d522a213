"""`costar run --only-failed RUN`: runs exactly the scenarios that failed a gated judge in RUN,
with all their trials, says which, and records where it came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.assess import AssessConfig, assess
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.traces import TraceStore

SUITE = {
    "scenarios/pass1.yaml": "id: pass1\ninput: hello\nexpectations: {facts: ['echo: hello']}\n",
    "scenarios/pass2.yaml": "id: pass2\ninput: hi\n",
    "scenarios/fail1.yaml": "id: fail1\ninput: bye\nexpectations: {facts: ['never said']}\n",
    # fails only a judge the policy below leaves out of the gate
    "scenarios/over.yaml": "id: over\ninput: x\nexpectations: {budgets: {tool_calls: 0}}\n",
    "scenarios/m.yaml": """
        id: m-{n}
        matrix: {n: [1, 2, 3]}
        input: "n{n}"
        expectations:
          reply_matches: ["n[12]$"]
        """,
}
FAILED = {
    "fail1": ["expected-facts"],
    "m-3": ["reply-matches"],
    "over": ["budgets"],
}


@pytest.fixture
def assessed(project: Path) -> tuple[Path, str]:
    write_files(project, SUITE)
    settings = load_settings(start=project)
    run_id = run_suite(
        RunConfig.from_settings(settings, agent="sample_agents:echo", trials=2)
    ).run_id
    assess(
        AssessConfig(
            root=project,
            tracking_uri=settings.store_uri(),
            run_ids=[run_id],
            judge_paths=settings.judges,
        )
    )
    return project, run_id


def traces_of(project: Path, run_id: str) -> list[tuple[str, int]]:
    store = TraceStore(load_settings(start=project).store_uri())
    return sorted((r.scenario_id, r.trial) for r in store.run_traces(run_id))


def test_only_the_failed_scenarios_run_again_with_all_their_trials(assessed) -> None:
    project, run_id = assessed
    agent = ("-a", "sample_agents:echo")
    done = run_cli(project, "run", "--only-failed", run_id[:10], *agent, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["only_failed"]["run_id"] == run_id
    assert out["only_failed"]["failed"] == FAILED
    assert out["only_failed"]["trials"] == 2 and out["only_failed"]["missing"] == []
    assert traces_of(project, out["run_id"]) == [(s, t) for s in sorted(FAILED) for t in (0, 1)]
    store = TraceStore(load_settings(start=project).store_uri())
    new = store.get_run(out["run_id"])
    assert new.tags["costar.only_failed"] == run_id
    assert json.loads(new.params["scenarios"]) == sorted(FAILED)


def test_the_policy_decides_which_judges_count_and_the_output_says_what_ran(assessed) -> None:
    project, run_id = assessed
    write_files(project, {"gate.yaml": "judges: [expected-facts, reply-matches]\n"})
    (project / "scenarios" / "fail1.yaml").unlink()  # fixed by deleting it: said, not run
    done = run_cli(
        project, "run", "--only-failed", run_id, "--policy", "gate.yaml", "-a", "sample_agents:echo"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        f"re-running 1 scenario(s) that failed a gated judge in run {run_id}:",
        "  m-3  (reply-matches)",
        "not in the suite now (or left out by --tag), so not run: fail1",
    ]
    new_run = TraceStore(load_settings(start=project).store_uri()).newest_run().run_id
    assert traces_of(project, new_run) == [("m-3", 0), ("m-3", 1)]


def test_nothing_failed_means_nothing_runs(assessed) -> None:
    project, run_id = assessed
    store = TraceStore(load_settings(start=project).store_uri())
    before = len(store.list_runs())
    write_files(project, {"gate.yaml": "judges: [output-present]\n"})
    done = run_cli(project, "run", "--only-failed", run_id, "--policy", "gate.yaml")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"no scenario failed a gated judge in run {run_id} (gated judges: output-present); "
        "nothing to run"
    )
    assert len(store.list_runs()) == before


def test_a_run_without_verdicts_is_a_usage_error(project: Path) -> None:
    write_files(project, SUITE)
    run_id = run_suite(
        RunConfig.from_settings(load_settings(start=project), agent="sample_agents:echo")
    ).run_id
    done = run_cli(project, "run", "--only-failed", run_id)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"run {run_id[:12]} has no verdicts; run `costar assess {run_id[:12]}` first" in (
        done.stderr
    )
