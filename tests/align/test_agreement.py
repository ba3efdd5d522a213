"""Agreement statistics against hand-computed cases."""

from __future__ import annotations

import pytest

from costar.align import Pair, agreement, cohen_kappa, kappa_interval, spearman


def test_kappa_matches_the_textbook_example() -> None:
    # 50 items: both yes 20, human yes/judge no 5, human no/judge yes 10, both no 15.
    # p_o = 35/50 = 0.7; p_e = (25*30 + 25*20)/2500 = 0.5; kappa = (0.7-0.5)/0.5 = 0.4
    human = [True] * 25 + [False] * 25
    judge = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    assert cohen_kappa(human, judge) == pytest.approx(0.4)


def test_kappa_is_one_for_perfect_agreement_and_negative_for_systematic_disagreement() -> None:
    assert cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    assert cohen_kappa([True, False, True, False], [False, True, False, True]) == -1.0


def test_kappa_is_undefined_when_both_raters_use_one_category() -> None:
    assert cohen_kappa([True, True, True], [True, True, True]) is None
    # a constant judge against a mixed human: kappa 0 (no better than chance), not undefined
    assert cohen_kappa([True, False, True, True], [True, True, True, True]) == pytest.approx(0.0)


def test_kappa_interval_brackets_the_estimate_and_narrows_with_more_items() -> None:
    human = [True] * 25 + [False] * 25
    judge = [True] * 20 + [False] * 5 + [True] * 10 + [False] * 15
    low, high = kappa_interval(human, judge, seed=1)
    assert low < 0.4 < high
    wide = kappa_interval(human[::5], judge[::5], seed=1)
    assert wide is not None and (wide[1] - wide[0]) > (high - low)
    assert kappa_interval(human, judge, seed=1) == (low, high)  # seeded: reproducible


def test_spearman_with_ties_matches_hand_computation() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # x ranks 1, 2.5, 2.5, 4; y ranks 1, 2, 3, 4 -> rho = 4.5 / sqrt(4.5 * 5)
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(4.5 / (4.5 * 5) ** 0.5)
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_agreement_report_has_confusion_scenarios_and_disagreements() -> None:
    pairs = [
        Pair("t1", "a", True, True),
        Pair("t2", "a", False, True, rationale="looked fine"),
        Pair("t3", "b", False, False),
        Pair("t4", "b", True, True),
    ]
    a = agreement("tone", pairs, unscored=1)
    assert a.accuracy == 0.75 and a.n == 4 and a.unscored == 1
    assert a.confusion == {"pass": {"pass": 2}, "fail": {"pass": 1, "fail": 1}}
    assert a.per_scenario == {"a": {"n": 2, "agree": 1}, "b": {"n": 2, "agree": 2}}
    assert [p.trace_id for p in a.disagreements] == ["t2"]
    assert a.kappa == pytest.approx(0.5)  # p_o .75, p_e (2*3 + 2*1)/16 = .5


def test_numeric_judges_get_mae_and_spearman() -> None:
    pairs = [
        Pair(f"t{i}", "s", h, j) for i, (h, j) in enumerate([(1, 1.5), (2, 2), (3, 2.5), (4, 5)])
    ]
    a = agreement("score", pairs)
    assert a.numeric and a.kappa is None
    assert a.mae == pytest.approx((0.5 + 0 + 0.5 + 1) / 4)
    assert a.spearman == pytest.approx(1.0) and a.score == a.spearman
