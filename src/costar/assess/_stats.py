"""Statistics that survive non-determinism: rates with intervals, pass@k and pass^k, paired tests.

Choices, and what they assume:
- A pass rate's interval is Wilson's score interval (95%): well-behaved near 0 and 1 and for
  small n, where the normal approximation is not.
- pass@k (at least one of k trials passes) and pass^k (all k pass) use the unbiased estimators
  over n trials with c passes per scenario: 1 - C(n-c, k)/C(n, k) and C(c, k)/C(n, k), averaged
  over scenarios.
- Comparing a candidate run with a baseline pairs them by scenario: each scenario contributes
  the difference of its pass rates. The test is a sign-flip permutation test on those
  differences (exact for up to 16 scenarios, 20,000 random flips beyond). It assumes scenarios
  are independent and, under "no change", that each difference is as likely positive as
  negative. It does not assume normality or equal trial counts. The effect's interval is a
  percentile bootstrap over scenarios.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

Z95 = 1.959963984540054


def wilson(passes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a pass rate; (0, 1) when there are no trials."""
    if n == 0:
        return (0.0, 1.0)
    p = passes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def pass_at_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """Mean over scenarios of P(at least one of k trials passes); counts are (n, c) pairs."""
    usable = [(n, c) for n, c in counts if n >= k]
    if not usable:
        raise ValueError(f"pass@{k} needs at least {k} trials per scenario")
    return sum(1 - math.comb(n - c, k) / math.comb(n, k) for n, c in usable) / len(usable)


def pass_hat_k(counts: Sequence[tuple[int, int]], k: int) -> float:
    """Mean over scenarios of P(all k trials pass) (pass^k); counts are (n, c) pairs."""
    usable = [(n, c) for n, c in counts if n >= k]
    if not usable:
        raise ValueError(f"pass^{k} needs at least {k} trials per scenario")
    return sum(math.comb(c, k) / math.comb(n, k) for n, c in usable) / len(usable)


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile (q in [0, 1])."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def permutation_p(diffs: Sequence[float], iterations: int = 20_000, seed: int = 0) -> float:
    """Two-sided p-value of a sign-flip permutation test that the mean difference is 0."""
    diffs = [d for d in diffs if d != 0]
    if not diffs:
        return 1.0
    observed = abs(sum(diffs))
    if len(diffs) <= 16:  # exact: every sign pattern
        hits = total = 0
        for signs in itertools.product((1, -1), repeat=len(diffs)):
            total += 1
            hits += abs(sum(s * d for s, d in zip(signs, diffs, strict=True))) >= observed - 1e-12
        return hits / total
    rng = random.Random(seed)
    hits = sum(
        abs(sum(d if rng.random() < 0.5 else -d for d in diffs)) >= observed - 1e-12
        for _ in range(iterations)
    )
    return (hits + 1) / (iterations + 1)


def bootstrap_ci(
    values: Sequence[float], iterations: int = 5_000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean."""
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choice(values) for _ in range(n)) / n for _ in range(iterations))
    tail = (1 - level) / 2
    return (quantile(means, tail), quantile(means, 1 - tail))


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of one judge between a baseline and a candidate run."""

    scenarios: int
    baseline_rate: float
    candidate_rate: float
    effect: float  # mean over scenarios of candidate rate - baseline rate
    ci: tuple[float, float]
    p_value: float
    regressed: list[str]
    fixed: list[str]

    def significant_regression(self, alpha: float = 0.05) -> bool:
        return self.effect < 0 and self.p_value < alpha


def compare(
    baseline: dict[str, tuple[int, int]], candidate: dict[str, tuple[int, int]]
) -> Comparison:
    """Paired by scenario: {scenario: (trials, passes)} for each run; scenarios in both count."""
    common = sorted(set(baseline) & set(candidate))
    if not common:
        raise ValueError("the runs share no scenario with verdicts for this judge")
    base = {s: baseline[s][1] / baseline[s][0] for s in common if baseline[s][0]}
    cand = {s: candidate[s][1] / candidate[s][0] for s in common if candidate[s][0]}
    paired = [s for s in common if s in base and s in cand]
    diffs = [cand[s] - base[s] for s in paired]
    return Comparison(
        scenarios=len(paired),
        baseline_rate=sum(base[s] for s in paired) / len(paired),
        candidate_rate=sum(cand[s] for s in paired) / len(paired),
        effect=sum(diffs) / len(diffs),
        ci=bootstrap_ci(diffs),
        p_value=permutation_p(diffs),
        regressed=[s for s in paired if cand[s] < base[s]],
        fixed=[s for s in paired if cand[s] > base[s]],
    )


def min_scenarios(alpha: float = 0.05) -> int:
    """The fewest differing scenarios with which the exact sign-flip test can reach `alpha`."""
    return math.ceil(math.log2(2 / alpha) + 1e-9)


def trials_needed(
    rates: Sequence[float],
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    max_trials: int = 1_000,
) -> int | None:
    """Trials per scenario (in each of the two runs) for `power` to detect a drop of `effect`
    in pass rate, given each scenario's baseline rate; None when no number of trials suffices
    (the suite needs more scenarios) or more than `max_trials` would.

    The sign-flip test conditions on the observed per-scenario differences d_i, so its statistic
    is about sqrt(S) * mean(d) / sqrt(mean(d^2)). With a drop delta_i = min(effect, p_i) and
    trial noise var_i = (p(1-p) + q(1-q)) / n (q = p - delta_i), that is
    sqrt(S) * mean(delta) / sqrt(mean(delta^2 + var_i)). It is bounded by about sqrt(S)
    however many trials run: scenarios, not only trials, buy power.
    """
    from statistics import NormalDist

    if not rates or effect <= 0:
        raise ValueError("needs at least one scenario rate and a positive effect")
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    drops = [min(effect, p) for p in rates]
    noise = [p * (1 - p) + (p - d) * (1 - (p - d)) for p, d in zip(rates, drops, strict=True)]
    size, mean_drop = len(rates), sum(drops) / len(rates)
    for n in range(1, max_trials + 1):
        spread = sum(d * d + v / n for d, v in zip(drops, noise, strict=True)) / size
        if math.sqrt(size) * mean_drop / math.sqrt(spread) >= z:
            return n
    return None
