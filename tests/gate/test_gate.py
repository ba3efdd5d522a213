"""The gate: policies, decisions, JUnit and Markdown, and `costar gate` exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from _helpers import make_verdict, run_cli, write_files
from costar._exceptions import ConfigError
from costar.assess import AssessConfig, assess
from costar.config import load_settings
from costar.gate import GatePolicy, evaluate, junit_xml, load_policy, markdown
from costar.harness import RunConfig, run_suite
from costar.judges import Verdict


def v(judge: str, scenario: str, passed=None, **fields) -> Verdict:
    return make_verdict(
        judge, scenario, 0, passed, rationale=f"{judge} on {scenario}", evidence=["span1"], **fields
    )


GOOD = [v("facts", s, True) for s in "abcdefgh"] + [
    v("metric:total_tokens", s, value=1000, kind="metric") for s in "abcdefgh"
]
WORSE = [v("facts", s, s not in "abcdef") for s in "abcdefgh"] + [
    v("metric:total_tokens", s, value=1300, kind="metric") for s in "abcdefgh"
]


def test_same_candidate_passes_and_regression_fails_with_reasons() -> None:
    assert evaluate(GOOD, GOOD, GatePolicy()).passed
    result = evaluate(GOOD, WORSE, GatePolicy())
    assert not result.passed
    (reason,) = result.reasons
    assert reason.startswith("facts: pass rate 100% -> 25%") and "regressed: a, b, c" in reason


def test_a_drop_too_small_to_tell_is_inconclusive_and_the_policy_decides() -> None:
    # formerly failed closed (any drop on fewer than 6 differing scenarios was a regression,
    # 74% false alarms on unchanged agents); now the gate says it cannot tell, and why
    base = [v("facts", s, True) for s in "ab"]
    cand = [v("facts", s, False) for s in "ab"]
    warned = evaluate(base, cand, GatePolicy())
    assert warned.passed and warned.outcomes == {"facts": "inconclusive"}
    (warning,) = warned.warnings
    assert "inconclusive" in warning and "trials per scenario (now 1) would decide it" in warning
    failed = evaluate(base, cand, GatePolicy(on_inconclusive="fail"))
    assert not failed.passed and "inconclusive" in failed.reasons[0]
    silent = evaluate(base, cand, GatePolicy(on_inconclusive="pass"))
    assert silent.passed and silent.warnings == [] and silent.outcomes["facts"] == "inconclusive"
    better = evaluate(cand, base, GatePolicy())  # an improvement is never held back
    assert better.passed and better.outcomes == {"facts": "pass"}


def test_policy_rules_min_rate_metric_increase_and_errors() -> None:
    policy = GatePolicy(
        min_pass_rate={"*": 0.9}, metric_increase={"metric:total_tokens": 0.2}, no_regression=False
    )
    result = evaluate(GOOD, WORSE, policy)
    failed = {c.rule for c in result.checks if not c.ok}
    assert failed == {"min_pass_rate", "metric_increase"}
    errors = [v("facts", s, status="error") for s in "abc"] + [v("facts", s, True) for s in "de"]
    erred = evaluate(errors, errors, GatePolicy(max_error_rate=0.5))
    assert [c.rule for c in erred.checks if not c.ok] == ["max_error_rate"]
    missing = evaluate(GOOD, GOOD, GatePolicy(judges=["nope"]))
    assert not missing.passed and "no verdicts in the candidate" in missing.reasons[0]


def test_junit_and_markdown() -> None:
    cand = WORSE + [v("facts2", "a", status="error"), v("facts2", "b", status="skipped")]
    root = ET.fromstring(junit_xml(cand))
    facts = root.find("testsuite[@name='facts']")
    assert facts is not None and facts.get("tests") == "8" and facts.get("failures") == "6"
    failure = facts.find("testcase[@name='a#0']/failure")
    assert failure is not None and "facts on a" in failure.get("message")
    assert root.find("testsuite[@name='facts2']/testcase/error") is not None
    assert root.find("testsuite[@name='metric:total_tokens']") is None  # values, not tests
    text = markdown(evaluate(GOOD, WORSE, GatePolicy()), "base" * 4, "cand" * 4)
    assert (
        text.startswith("### costar gate **fails**") and "| facts | no_regression | FAIL |" in text
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [("alpha: 2\n", "'alpha'"), ("minimum: 1\n", "'minimum'"), ("x: [\n", "invalid YAML")],
)
def test_bad_policies(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_policy(path)


def test_cli_gate_exit_codes_and_files(project: Path, tmp_path: Path) -> None:
    write_files(
        project,
        {"scenarios/a.yaml": "id: a\ninput: hi\n", "scenarios/b.yaml": "id: b\ninput: ho\n"},
    )
    settings = load_settings(start=project)
    runs = {}
    for agent in ("sample_agents:echo", "sample_agents:crash"):
        runs[agent] = run_suite(RunConfig.from_settings(settings, agent=agent, trials=3)).run_id
        assess(
            AssessConfig(
                root=project, tracking_uri=settings.store_uri(), run_ids=[runs[agent]], mirror=False
            )
        )
    good, bad = runs["sample_agents:echo"], runs["sample_agents:crash"]
    same = run_cli(project, "gate", "-b", good, "-c", good)
    # two scenarios at 3 trials cannot rule out a 15-point drop: exit 0, the warning visible
    assert same.returncode == 0 and same.stdout.startswith("gate: PASS (")
    assert "\n  ! output-present: pass rate 100% -> 100%" in same.stdout
    assert "inconclusive" in same.stdout and "with Holm's procedure" in same.stdout
    (project / "strict.yaml").write_text("on_inconclusive: fail\n")
    strict = run_cli(project, "gate", "-b", good, "-c", good, "--policy", "strict.yaml")
    assert strict.returncode == 1 and strict.stdout.startswith("gate: FAIL")
    junit, md = tmp_path / "gate.xml", tmp_path / "gate.md"
    worse = run_cli(
        project,
        "gate",
        "-b",
        good,
        "-c",
        bad,
        "--junit",
        str(junit),
        "--markdown",
        str(md),
        "--json",
    )
    assert worse.returncode == 1, worse.stderr
    data = json.loads(worse.stdout)
    assert not data["passed"] and any(r.startswith("output-present") for r in data["reasons"])
    assert ET.parse(junit).getroot().find("testsuite[@name='output-present']") is not None
    assert "costar gate **fails**" in md.read_text()
    (project / "policy.yaml").write_text("alpha: 5\n")
    bad_policy = run_cli(project, "gate", "-b", good, "-c", bad, "--policy", "policy.yaml")
    assert bad_policy.returncode == 2 and bad_policy.stderr.startswith("costar: error: ")


@pytest.mark.loop
def test_cli_ci_runs_assesses_and_gates(project: Path) -> None:
    write_files(project, {f"scenarios/s{i}.yaml": f"id: s{i}\ninput: q{i}\n" for i in range(6)})
    first = run_cli(project, "ci", "-a", "sample_agents:echo", "--json")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    assert data["passed"] and data["run"]["written"] == 6 and data["baseline"] is None
    worse = run_cli(project, "ci", "-a", "sample_agents:crash", "--baseline", "previous", "--json")
    assert worse.returncode == 1, worse.stderr
    data = json.loads(worse.stdout)
    assert data["baseline"] == json.loads(first.stdout)["run"]["run_id"]
    assert any(r.startswith("output-present: pass rate 100% -> 0%") for r in data["reasons"])


def test_cli_gate_fails_on_judge_errors(project: Path) -> None:
    write_files(
        project,
        {
            **{f"scenarios/s{i}.yaml": f"id: s{i}\ninput: q{i}\n" for i in range(3)},
            "judges/broken.py": """
            import costar

            @costar.judge(name="broken", kind="check")
            def broken(view, scenario):
                raise RuntimeError("judge backend down")
            """,
        },
    )
    settings = load_settings(start=project)
    run_id = run_suite(RunConfig.from_settings(settings, agent="sample_agents:echo")).run_id
    assess(
        AssessConfig(
            root=project,
            tracking_uri=settings.store_uri(),
            run_ids=[run_id],
            judge_paths=settings.judges,
            mirror=False,
        )
    )
    (project / "gate.yaml").write_text("judges: [broken, output-present]\n")
    done = run_cli(project, "gate", "-b", run_id, "-c", run_id, "--policy", "gate.yaml", "--json")
    assert done.returncode == 1, done.stderr
    reasons = json.loads(done.stdout)["reasons"]
    assert reasons == [
        "broken: judge error rate 100% (at most 10%)",
        "broken: no pass/fail verdicts in the candidate (every verdict was an error or skipped)",
    ]
