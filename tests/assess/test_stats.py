"""Statistics on known values."""

from __future__ import annotations

import pytest

from _helpers import make_verdict
from costar.assess import (
    bootstrap_ci,
    compare,
    compare_runs,
    drop_p_value,
    newcombe,
    pass_at_k,
    pass_hat_k,
    permutation_p,
    quantile,
    summarise,
    wilson,
)


def test_wilson_interval_known_values() -> None:
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson(0, 0) == (0.0, 1.0)


def test_unbiased_pass_at_k_and_pass_hat_k() -> None:
    # n=5 trials, c=2 passes: pass@2 = 1 - C(3,2)/C(5,2) = 0.7; pass^2 = C(2,2)/C(5,2) = 0.1
    assert pass_at_k([(5, 2)], 2) == pytest.approx(0.7)
    assert pass_hat_k([(5, 2)], 2) == pytest.approx(0.1)
    assert pass_at_k([(5, 2), (5, 5)], 1) == pytest.approx((0.4 + 1.0) / 2)
    assert pass_hat_k([(4, 4), (4, 0)], 3) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="needs at least 3 trials"):
        pass_at_k([(2, 1)], 3)


def test_exact_and_sampled_permutation_p_values() -> None:
    assert permutation_p([1.0] * 5) == pytest.approx(2 / 32)
    assert permutation_p([-1.0] * 6) == pytest.approx(2 / 64)
    assert permutation_p([1.0, -1.0, 1.0, -1.0]) == 1.0
    assert permutation_p([0.0, 0.0]) == 1.0
    big = permutation_p([-0.5] * 20)  # sampled beyond 16 scenarios
    assert big < 0.001
    assert quantile([1, 2, 3, 4], 0.5) == 2.5 and quantile([5], 0.9) == 5


def test_bootstrap_interval_covers_the_mean() -> None:
    lo, hi = bootstrap_ci([0.0, -1.0, -1.0, 0.0, -1.0, 0.0, -0.5, -0.5])
    assert lo < -0.5 < hi <= 0.0


def test_paired_comparison_finds_the_regression() -> None:
    base = {f"s{i}": (4, 4) for i in range(8)}
    cand = {**base, **{f"s{i}": (4, 0) for i in range(6)}}
    result = compare(base, cand)
    assert result.scenarios == 8 and result.effect == pytest.approx(-0.75)
    # each broken scenario: 4 of 4 -> 0 of 4 has conditional probability 1 / C(8, 4)
    assert result.p_value == pytest.approx((1 / 70) ** 6)
    assert result.regressed == [f"s{i}" for i in range(6)] and result.fixed == []
    assert result.significant_regression()
    assert result.ci[1] < -0.5 and result.lower_bound(0.05) < result.effect < result.ci[1]
    same = compare(base, base)
    assert same.p_value == 1.0 and not same.significant_regression()
    assert same.lower_bound(0.05) > -0.15  # 32 of 32 twice rules out a 15-point drop
    with pytest.raises(ValueError, match="share no scenario"):
        compare({"a": (1, 1)}, {"b": (1, 1)})


def test_exact_drop_test_known_values() -> None:
    # Fisher's exact test for one scenario: 3 of 3 -> 0 of 3 is 1 of C(6, 3) = 20 splits
    assert drop_p_value([((3, 3), (3, 0))]) == pytest.approx(0.05)
    assert drop_p_value([((3, 3), (3, 0))] * 2) == pytest.approx(1 / 400)
    # 2 of 4 -> 1 of 4: P(X <= 1), X ~ hypergeometric(8 trials, 3 passes, 4 drawn) = 0.5
    assert drop_p_value([((4, 2), (4, 1))]) == pytest.approx(0.5)
    assert drop_p_value([((3, 0), (3, 3))]) == 1.0  # an improvement is no drop
    assert drop_p_value([((3, 3), (3, 3)), ((5, 5), (2, 2))]) == 1.0  # nothing can move


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), method 10: 56/70 against 48/80 gives 0.0524 to 0.3339
    assert newcombe((48, 80), (56, 70)) == pytest.approx((0.0524, 0.3339), abs=1e-4)


verdict = make_verdict


def test_summarise_rates_flakiness_errors_and_metrics() -> None:
    verdicts = [
        verdict("facts", "a", 0, True),
        verdict("facts", "a", 1, True),
        verdict("facts", "b", 0, True),
        verdict("facts", "b", 1, False),
        verdict("facts", "c", 0, status="error"),
        verdict("facts", "c", 1, status="skipped"),
        *(
            verdict("metric:tokens", s, t, value=v, kind="metric")
            for s, t, v in (("a", 0, 100), ("a", 1, 200), ("b", 0, 300), ("b", 1, 400))
        ),
    ]
    report = summarise(verdicts)
    facts = report["facts"]
    assert (facts.passed, facts.failed, facts.errors, facts.skipped) == (3, 1, 1, 1)
    assert facts.rate == pytest.approx(0.75) and facts.ci == pytest.approx(wilson(3, 4))
    assert facts.error_rate == pytest.approx(1 / 6)
    assert facts.flaky == ["b"] and facts.failing == ["b"]
    assert facts.pass_at_k == {1: 0.75, 2: 1.0} and facts.pass_hat_k == {1: 0.75, 2: 0.5}
    tokens = report["metric:tokens"]
    assert tokens.rate is None and tokens.median == 250 and tokens.p90 == pytest.approx(370)


def test_compare_runs_pairs_judges_and_metric_deltas() -> None:
    base = [verdict("facts", s, 0, True) for s in "abcdef"] + [
        verdict("metric:tokens", s, 0, value=100, kind="metric") for s in "abcdef"
    ]
    cand = [verdict("facts", s, 0, s not in "abcde") for s in "abcdef"] + [
        verdict("metric:tokens", s, 0, value=130, kind="metric") for s in "abcdef"
    ]
    deltas = compare_runs(base, cand)
    facts = deltas["facts"].comparison
    assert facts is not None and facts.regressed == list("abcde")
    assert facts.p_value == pytest.approx(1 / 32)
    assert deltas["metric:tokens"].metric_change == pytest.approx(0.3)


def test_trials_needed_matches_simulated_power_of_the_exact_test() -> None:
    import random

    from costar.assess import trials_needed

    rates = [0.9] * 10
    n = trials_needed(rates, effect=0.3)
    assert n is not None and 2 <= n <= 8
    assert trials_needed(rates, effect=0.2) > n  # a smaller drop needs more trials
    assert trials_needed([0.5] * 40, effect=0.3) < trials_needed([0.5] * 10, effect=0.3)
    assert trials_needed([0.9] * 6, effect=0.3, alpha=0.01) > n  # fewer scenarios, more trials
    assert trials_needed([0.9] * 2, effect=0.1, max_trials=20) is None

    rng = random.Random(1)
    detected = ruled_out = 0
    runs = 200
    for _ in range(runs):
        base = {f"s{i}": (n, sum(rng.random() < p for _ in range(n))) for i, p in enumerate(rates)}
        cand = {
            f"s{i}": (n, sum(rng.random() < p - 0.3 for _ in range(n))) for i, p in enumerate(rates)
        }
        same = {f"s{i}": (n, sum(rng.random() < p for _ in range(n))) for i, p in enumerate(rates)}
        detected += compare(base, cand).significant_regression(0.05)
        ruled_out += compare(base, same).lower_bound(0.05) > -0.3
    assert detected / runs >= 0.7 and ruled_out / runs >= 0.7  # the plan's 80%, within noise
