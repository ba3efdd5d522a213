"""The gate's per-judge decisions: pass, regression, inconclusive; Holm over judges; the
false-alarm rate of unchanged agents; a broken tiny suite; and how each output shows them."""

from __future__ import annotations

import random
from xml.etree import ElementTree as ET

from _helpers import make_verdict
from costar.gate import GatePolicy, evaluate, holm, junit_xml, lines, markdown
from costar.judges import Verdict


def trials(judge: str, scenario: str, outcomes: str) -> list[Verdict]:
    """One verdict per character: 'P' passed, 'F' failed."""
    return [make_verdict(judge, scenario, t, ch == "P") for t, ch in enumerate(outcomes)]


def suite(judge: str, per_scenario: dict[str, str]) -> list[Verdict]:
    return [v for s, outcomes in per_scenario.items() for v in trials(judge, s, outcomes)]


def test_a_candidate_that_breaks_every_scenario_of_a_tiny_suite_fails() -> None:
    base = suite("facts", {"a": "PPP", "b": "PPP"}) + suite("tone", {"a": "PPP", "b": "PPP"})
    cand = suite("facts", {"a": "FFF", "b": "FFF"}) + suite("tone", {"a": "FFF", "b": "FFF"})
    result = evaluate(base, cand, GatePolicy())
    assert not result.passed
    assert result.outcomes == {"facts": "regression", "tone": "regression"}
    assert "p = 0.0025" in result.reasons[0] and "regressed: a, b" in result.reasons[0]
    # one scenario, three trials: Fisher's exact test, p = 1/20, reaches 0.05 for one judge
    single = evaluate(trials("facts", "a", "PPP"), trials("facts", "a", "FFF"), GatePolicy())
    assert single.outcomes == {"facts": "regression"} and not single.passed


def test_holm_step_down_known_values() -> None:
    assert holm({"a": 0.01, "b": 0.02, "c": 0.04}, 0.05) == {
        "a": (True, 0.05 / 3),
        "b": (True, 0.025),
        "c": (True, 0.05),
    }
    # step-down: once one p-value misses its level, no larger one is rejected (b's 0.04)
    stopped = holm({"a": 0.03, "b": 0.04, "c": 0.001}, 0.05)
    assert stopped == {"c": (True, 0.05 / 3), "a": (False, 0.025), "b": (False, 0.05)}
    assert holm({"a": 0.03, "b": 0.2}, 0.05) == {"a": (False, 0.025), "b": (False, 0.05)}


def test_adding_judges_does_not_add_false_alarms() -> None:
    # a drop with p = 1/32: a regression for a lone judge, not when five unchanged judges
    # share the gate's level with it
    drop_base = suite("facts", {s: "P" for s in "abcde"})
    drop_cand = suite("facts", {s: "F" for s in "abcde"})
    alone = evaluate(drop_base, drop_cand, GatePolicy())
    assert alone.outcomes == {"facts": "regression"}
    steady = [v for j in range(5) for v in suite(f"j{j}", {s: "PPPP" for s in "abcde"})]
    shared = evaluate(drop_base + steady, drop_cand + steady, GatePolicy())
    assert shared.outcomes["facts"] != "regression" and shared.passed
    assert "shared by 6 judge(s) with Holm's procedure" in shared.family
    assert "(Holm level 0.00833)" in shared.checks[1].detail


def test_unchanged_agents_rarely_fail_the_gate() -> None:
    """A/A: 12 scenarios (7 always pass, 1 always fails, 4 flaky in [0.3, 0.9]), 3 judges,
    3 trials, 80 seeded comparisons. The old rule failed most of these; the gate's level is
    0.05, so more than 8 of 80 would be a broken guarantee (binomial tail below 1%)."""
    rng = random.Random(7)
    fails = 0
    for _ in range(80):
        rates = {
            f"j{j}": [1.0] * 7 + [0.0] + [rng.uniform(0.3, 0.9) for _ in range(4)] for j in range(3)
        }

        def run(rates: dict[str, list[float]] = rates) -> list[Verdict]:
            return [
                make_verdict(judge, f"s{s}", t, rng.random() < p)
                for judge, ps in rates.items()
                for s, p in enumerate(ps)
                for t in range(3)
            ]

        fails += not evaluate(run(), run(), GatePolicy()).passed
    assert fails <= 8


def test_a_real_drop_does_not_pass_silently() -> None:
    # 10 scenarios at 3 trials, a drop from 90% to 40%: regression, or at worst inconclusive
    rng = random.Random(3)
    decisions = []
    for _ in range(20):
        base = [
            make_verdict("facts", f"s{s}", t, rng.random() < 0.9)
            for s in range(10)
            for t in range(3)
        ]
        cand = [
            make_verdict("facts", f"s{s}", t, rng.random() < 0.4)
            for s in range(10)
            for t in range(3)
        ]
        decisions.append(evaluate(base, cand, GatePolicy()).outcomes["facts"])
    assert "pass" not in decisions and decisions.count("regression") >= 18


def test_outputs_show_inconclusive_and_the_family_level() -> None:
    base = suite("facts", {"a": "P", "b": "P"}) + suite("tone", {s: "P" for s in "abcdef"})
    cand = suite("facts", {"a": "F", "b": "F"}) + suite("tone", {s: "F" for s in "abcdef"})
    result = evaluate(base, cand, GatePolicy())
    assert result.outcomes == {"facts": "inconclusive", "tone": "regression"}
    text = "\n".join(lines(result))
    assert text.startswith("gate: FAIL\n  - tone: pass rate 100% -> 0%")
    assert "\n  ! facts: " in text and "inconclusive" in text
    assert "judges: 1 inconclusive, 1 regression; false-alarm level 0.05" in text
    root = ET.fromstring(junit_xml(cand, None, result))
    gate = root.find("testsuite[@name='costar-gate']")
    assert gate is not None and gate.get("failures") == "1" and gate.get("skipped") == "1"
    skipped = gate.find("testcase[@classname='facts'][@name='no_regression']/skipped")
    assert skipped is not None and skipped.get("message", "").startswith("inconclusive: ")
    assert gate.find("testcase[@classname='tone'][@name='no_regression']/failure") is not None
    family = gate.find("properties/property[@name='family']")
    assert family is not None and "Holm" in family.get("value", "")
    md = markdown(result, "b" * 12, "c" * 12)
    assert "| facts | no_regression | inconclusive |" in md and "Holm's procedure" in md
    passing = evaluate(
        suite("facts", {"a": "P", "b": "P"}), suite("facts", {"a": "F", "b": "F"}), GatePolicy()
    )
    assert lines(passing)[0] == "gate: PASS (1 inconclusive)"
    assert markdown(passing, "b", "c").startswith(
        "### costar gate passes with 1 inconclusive judge(s): facts"
    )
