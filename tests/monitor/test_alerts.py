"""Alert statistics on simulated windows: the test's false-alarm rate, its power, and the
deterministic sample."""

from __future__ import annotations

import math
import random

import pytest

from _helpers import make_verdict
from costar.monitor import AlertPolicy, Window, detect, fisher_lower, robust_z, sampled


def window(label: str, rate: float, n: int, rng: random.Random, tokens=None) -> Window:
    verdicts = []
    for i in range(n):
        tid = f"tr-{label}-{i}"
        verdicts.append(make_verdict("polite", "", passed=rng.random() < rate, trace_id=tid))
        value = tokens(i) if tokens else 1000 + rng.randint(-50, 50)
        verdicts.append(make_verdict("metric:total_tokens", "", value=value, trace_id=tid))
    return Window(f"monitor:prod:{label}", verdicts)


def test_fisher_lower_tail_matches_hand_computation() -> None:
    # 2x2 [[3, 1], [1, 3]]: P(X <= 1) with K=4 successes, n=4 in the second row, N=8
    expected = (math.comb(4, 0) * math.comb(4, 4) + math.comb(4, 1) * math.comb(4, 3)) / math.comb(
        8, 4
    )
    assert fisher_lower(3, 1, 1, 3) == pytest.approx(expected)
    assert fisher_lower(5, 5, 5, 5) > 0.5  # no difference, no evidence


def test_stable_traffic_raises_false_alarms_at_most_at_the_configured_level() -> None:
    rng = random.Random(7)
    policy = AlertPolicy(alpha=0.05, min_drop=0.0)
    windows = [window(f"w{i}", 0.9, 100, rng) for i in range(203)]
    alarms = sum(
        1
        for i in range(3, len(windows))
        for a in detect(windows[i], windows[i - 3 : i], policy)
        if a.kind == "pass_rate_drop"
    )
    assert alarms <= 0.05 * 200  # 200 tests at alpha 0.05: at most 10 false alarms expected


def test_an_injected_drop_is_caught_in_nearly_every_window() -> None:
    rng = random.Random(11)
    policy = AlertPolicy(alpha=0.01)
    caught = 0
    for trial in range(20):
        base = [window(f"b{trial}-{i}", 0.9, 100, rng) for i in range(3)]
        dropped = window(f"d{trial}", 0.7, 100, rng)
        alerts = [a for a in detect(dropped, base, policy) if a.kind == "pass_rate_drop"]
        if alerts:
            caught += 1
            assert alerts[0].test == "one-sided Fisher exact test"
            assert alerts[0].numbers["baseline_n"] == 300 and alerts[0].examples
    assert caught >= 18


def test_a_runaway_conversation_is_a_cost_anomaly_and_names_its_trace() -> None:
    rng = random.Random(3)
    base = [window(f"b{i}", 0.9, 50, rng) for i in range(3)]
    spike = window("s", 0.9, 50, rng, tokens=lambda i: 25_000 if i == 7 else 1000)
    (alert,) = [a for a in detect(spike, base, AlertPolicy()) if a.kind == "metric_anomaly"]
    assert alert.examples == ["tr-s-7"] and alert.numbers["max_value"] == 25_000
    assert robust_z(25_000, [1000 + d for d in range(-50, 51)]) > 100
    quiet = window("q", 0.9, 50, rng)
    assert not [a for a in detect(quiet, base, AlertPolicy()) if a.kind == "metric_anomaly"]


def test_sampling_is_deterministic_by_trace_id_and_close_to_its_rate() -> None:
    ids = [f"tr-{i:032x}" for i in range(20_000)]
    first = {t for t in ids if sampled(t, 0.1, "llm")}
    assert first == {t for t in ids if sampled(t, 0.1, "llm")}  # the same every time
    assert abs(len(first) / len(ids) - 0.1) < 0.01
    assert first != {t for t in ids if sampled(t, 0.1, "agentic")}  # per judge kind
    assert {t for t in ids if sampled(t, 0.05, "llm")} <= first  # smaller rates nest
    assert all(sampled(t, 1.0) for t in ids[:10]) and not any(sampled(t, 0.0) for t in ids[:10])
