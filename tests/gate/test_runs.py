"""Only comparable runs are compared: the same suite, the scenarios the policy asks both to
share; `costar ci --baseline previous` picks the newest earlier run of the same suite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _helpers import make_verdict, run_cli, write_files
from costar._exceptions import NotFoundError
from costar.config import load_settings
from costar.gate import GatePolicy, evaluate, previous_run, suite_of
from costar.traces import RunInfo, TraceStore


def verdicts(scenarios: str, passed: bool = True) -> list:
    return [make_verdict("facts", s, t, passed) for s in scenarios for t in range(3)]


def run_info(run_id: str, suite: str, status: str = "FINISHED", **extra) -> RunInfo:
    tags = {"costar.kind": "run", "costar.suite": suite}
    tags.update(extra.pop("tags", {}))
    params = {"suite": f"/work/project/{suite}", "tags": "[]", "scenarios": "[]"}
    params.update(extra.pop("params", {}))
    return RunInfo(run_id, run_id, status, 0.0, None, params=params, tags=tags)


def test_runs_that_share_no_scenario_fail_and_name_both_sides() -> None:
    result = evaluate(verdicts("ab"), verdicts("cd"), GatePolicy())
    assert not result.passed and result.decisions == {}
    assert result.reasons == [
        "runs: the runs share no scenario (baseline: a, b; candidate: c, d), "
        "so nothing can be compared"
    ]


def test_missing_scenarios_fail_unless_the_policy_allows_fewer() -> None:
    result = evaluate(verdicts("abc"), verdicts("abd"), GatePolicy())
    assert not result.passed
    assert result.reasons[0] == (
        "runs: the runs share 2 of the baseline's 3 scenarios and the policy asks for all of "
        "the baseline's (missing in the candidate: c; missing in the baseline: d)"
    )
    relaxed = evaluate(verdicts("abc"), verdicts("abd"), GatePolicy(min_shared_scenarios=2))
    assert [c.rule for c in relaxed.checks if c.judge == "runs"] == []
    assert relaxed.outcomes == {"facts": "inconclusive"}
    grown = evaluate(verdicts("ab"), verdicts("abc"), GatePolicy())  # new scenarios are fine
    assert not [c for c in grown.checks if c.judge == "runs"]


def test_runs_of_different_suites_fail_old_runs_stay_readable() -> None:
    base, other = run_info("r1", "scenarios"), run_info("r2", "more-scenarios")
    result = evaluate(verdicts("ab"), verdicts("ab"), GatePolicy(), (base, other))
    assert not result.passed
    assert (
        "the runs are of different suites: the baseline ran scenarios, the candidate ran "
        "more-scenarios" in result.reasons[0]
    )
    allowed = evaluate(verdicts("ab"), verdicts("ab"), GatePolicy(same_suite=False), (base, other))
    assert not [c for c in allowed.checks if c.judge == "runs"]
    # a run recorded before the costar.suite tag existed names its suite by its absolute folder
    old = RunInfo("r0", "r0", "FINISHED", 0.0, None, params=dict(base.params), tags={})
    assert suite_of(old) is not None and suite_of(old).same(suite_of(base))
    assert not suite_of(old).same(suite_of(other))
    filtered = run_info("r3", "scenarios", params={"tags": '["smoke"]'})
    assert not suite_of(filtered).same(suite_of(base))
    assert "(tags smoke)" in str(suite_of(filtered))
    imported = run_info("r4", "imported/x", tags={"costar.imported": "tau-bench"})
    assert suite_of(imported) is None  # compared by its scenarios alone


def test_previous_run_is_the_newest_finished_run_of_the_same_suite() -> None:
    runs = [  # newest first, as the store lists them
        run_info("r4", "scenarios", status="KILLED"),
        run_info("r3", "other"),
        run_info("r2", "scenarios"),
        run_info("r1", "scenarios"),
    ]
    assert previous_run(runs, suite_of(runs[1])).run_id == "r3"
    assert previous_run(runs, suite_of(runs[0])).run_id == "r2"
    with pytest.raises(NotFoundError, match="no earlier finished run of the suite elsewhere"):
        previous_run(runs, suite_of(run_info("r9", "elsewhere")))


@pytest.mark.loop
def test_cli_ci_picks_the_same_suite_and_gate_refuses_unrelated_runs(project: Path) -> None:
    write_files(
        project,
        {
            "scenarios/a1.yaml": "id: a1\ninput: hi\n",
            "scenarios/a2.yaml": "id: a2\ninput: ho\n",
            "other/b1.yaml": "id: b1\ninput: hey\n",
            "other/b2.yaml": "id: b2\ninput: yo\n",
        },
    )
    first = run_cli(project, "ci", "-a", "sample_agents:echo", "-n", "3", "--json")
    assert first.returncode == 0, first.stderr
    first_id = json.loads(first.stdout)["run"]["run_id"]
    second = run_cli(project, "ci", "other", "-a", "sample_agents:echo", "-n", "3", "--json")
    assert second.returncode == 0, second.stderr
    second_id = json.loads(second.stdout)["run"]["run_id"]
    worse = run_cli(
        project, "ci", "-a", "sample_agents:crash", "-n", "3", "--baseline", "previous", "--json"
    )
    assert worse.returncode == 1, worse.stderr
    data = json.loads(worse.stdout)
    assert data["baseline"] == first_id  # not the newer run of the other suite
    store = TraceStore(load_settings(start=project).store_uri())
    assert store.get_run(second_id).tags["costar.suite"] == "other"  # relative to the project
    assert data["judges"]["output-present"] == "regression"
    assert "Holm" in data["family"]

    unrelated = run_cli(project, "gate", "-b", first_id, "-c", second_id)
    assert unrelated.returncode == 1 and "PASS" not in unrelated.stdout
    assert (
        "the runs are of different suites: the baseline ran scenarios, the candidate ran "
        "other" in unrelated.stdout
    )
    assert "share no scenario (baseline: a1, a2; candidate: b1, b2)" in unrelated.stdout
    (project / "gate.yaml").write_text("same_suite: false\n")
    anyway = run_cli(project, "gate", "-b", first_id, "-c", second_id, "--policy", "gate.yaml")
    assert anyway.returncode == 1 and "share no scenario" in anyway.stdout
    assert "different suites" not in anyway.stdout
