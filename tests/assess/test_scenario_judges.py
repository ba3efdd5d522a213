"""A scenario's `judges:` block (only these / also these opt-in ones) on a real store: honoured
by assess (skipped with a reason), by the gate and the JUnit report, seen by the verdict cache
key, and a judge name the project lacks is one line with file:line, exit 2."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar._exceptions import ScenarioError
from costar.assess import AssessConfig, VerdictStore, assess
from costar.config import load_settings
from costar.gate import GatePolicy, evaluate, junit_xml
from costar.harness import RunConfig, run_suite

ONLY = """
id: narrowed
input: hello
expectations:
  facts: ["never said"]
judges:
  only: [output-present]
"""

SUITE = {
    "scenarios/narrowed.yaml": ONLY,
    "scenarios/asks.yaml": """
        id: asks
        input: hi
        judges:
          also: [no-add]
        """,
    "scenarios/plain.yaml": """
        id: plain
        input: hey
        expectations:
          facts: ["echo: hey"]
        """,
    "judges/project.yaml": """
        judges:
          - name: no-add
            use: tool-sequence
            opt_in: true
            params: {forbidden: [add]}
        """,
}


@pytest.fixture
def recorded(project: Path) -> tuple[Path, str]:
    write_files(project, SUITE)
    summary = run_suite(
        RunConfig.from_settings(load_settings(start=project), agent="sample_agents:echo", trials=2)
    )
    return project, summary.run_id


def config(project: Path, run_id: str) -> AssessConfig:
    settings = load_settings(start=project)
    return AssessConfig(
        root=project, tracking_uri=settings.store_uri(), run_ids=[run_id], judge_paths=["judges"]
    )


def verdicts(project: Path, run_id: str) -> dict[tuple[str, str], list]:
    out: dict[tuple[str, str], list] = {}
    for v in VerdictStore(project / ".costar" / "verdicts.db").for_run(run_id):
        out.setdefault((v.scenario_id, v.judge), []).append(v)
    return out


def test_only_and_also_decide_which_judges_score_a_scenario(recorded) -> None:
    project, run_id = recorded
    assess(config(project, run_id))
    found = verdicts(project, run_id)
    # only: the named judge scores it, every other pass/fail judge skips it with the reason
    assert [v.passed for v in found[("narrowed", "output-present")]] == [True, True]
    for judge in ("expected-facts", "expected-tool-calls", "budgets", "no-repeated-failures"):
        for v in found[("narrowed", judge)]:
            assert v.status == "skipped" and v.passed is None, judge
            assert v.rationale == "not among the scenario's judges.only"
    # metrics are measured on every trace
    assert all(v.status == "ok" for v in found[("narrowed", "metric:tool_calls")])
    # an opt-in judge scores the scenario that asks for it, and skips the others
    assert [v.passed for v in found[("asks", "no-add")]] == [False, False]
    for sid in ("plain", "narrowed"):
        assert all(v.status == "skipped" for v in found[(sid, "no-add")])
    assert "opt-in" in found[("plain", "no-add")][0].rationale
    assert [v.passed for v in found[("plain", "expected-facts")]] == [True, True]


def test_the_gate_treats_a_judge_that_does_not_apply_as_skipped_not_failed(recorded) -> None:
    project, run_id = recorded
    assess(config(project, run_id))
    policy = GatePolicy(judges=["expected-facts", "output-present"], min_pass_rate={"*": 1.0})
    candidate = VerdictStore(project / ".costar" / "verdicts.db").for_run(run_id)
    result = evaluate(None, candidate, policy)
    assert result.passed, result.reasons  # `narrowed` would fail expected-facts
    junit = ET.fromstring(junit_xml(candidate, {"expected-facts"}, result))
    cases = junit.findall("./testsuite[@name='expected-facts']/testcase")
    narrowed = [c for c in cases if c.get("name", "").startswith("narrowed#")]
    assert len(narrowed) == 2 and all(c.find("failure") is None for c in narrowed)
    assert {c.find("skipped").get("message") for c in narrowed} == {
        "not among the scenario's judges.only"
    }
    # without the block, the same trace is judged, and fails the same gate
    write_files(project, {"scenarios/narrowed.yaml": ONLY.split("judges:")[0]})
    again = assess(config(project, run_id))
    # narrowed's two traces x (the eight checks that apply to it now, skills-invoked, which
    # skips it now because it targets no skills, and the opt-in no-add, which still skips it,
    # for another reason); every other verdict is reused
    assert again.scored == 2 * 10
    candidate = VerdictStore(project / ".costar" / "verdicts.db").for_run(run_id)
    failed = evaluate(None, candidate, policy)
    assert not failed.passed
    reasons = failed.reasons
    assert any(r.startswith("expected-facts: pass rate 50%") for r in reasons), reasons


def test_changing_which_judges_apply_re_scores_only_the_verdicts_it_changes(recorded) -> None:
    project, run_id = recorded
    first = assess(config(project, run_id))
    assert assess(config(project, run_id)).scored == 0
    write_files(
        project,
        {"scenarios/narrowed.yaml": ONLY.replace("[output-present]", "[output-present, budgets]")},
    )
    second = assess(config(project, run_id))
    assert second.scored == 2  # budgets on narrowed's two traces; the rest is reused
    assert second.cached == first.scored - 2
    found = verdicts(project, run_id)
    assert all(v.status == "skipped" for v in found[("narrowed", "budgets")])  # no budgets set
    assert found[("narrowed", "budgets")][0].rationale == "the scenario sets no budgets"


def test_a_judge_name_the_project_lacks_is_one_line_with_file_and_line(recorded) -> None:
    project, run_id = recorded
    write_files(
        project, {"scenarios/narrowed.yaml": ONLY.replace("[output-present]", "[output-presnt]")}
    )
    where = f"{project / 'scenarios' / 'narrowed.yaml'}:6:"
    with pytest.raises(ScenarioError) as caught:
        assess(config(project, run_id))
    (problem,) = caught.value.problems
    assert problem.startswith(where) and "judges.only names 'output-presnt'" in problem
    # `costar run` finds it before running anything
    done = run_cli(project, "run", "--agent", "sample_agents:echo")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert where in done.stderr and "output-presnt" in done.stderr
