"""Statistics that survive non-determinism: rates with intervals, pass@k and pass^k, paired tests.

Choices, and what they assume:
- A pass rate's interval is Wilson's score interval (95%): well-behaved near 0 and 1 and for
  small n, where the normal approximation is not.
- pass@k (at least one of k trials passes) and pass^k (all k pass) use the unbiased estimators
  over n trials with c passes per scenario: 1 - C(n-c, k)/C(n, k) and C(c, k)/C(n, k), averaged
  over scenarios.
- Comparing a candidate run with a baseline pairs them by scenario and asks whether the
  candidate does worse on this suite. The test of a drop is the exact stratified permutation
  test (the exact Mantel-Haenszel test): within each scenario, under "no change", the run
  labels of its trials are exchangeable, so given the scenario's total passes the candidate's
  passes follow a hypergeometric law; the statistic is the candidate's total passes, whose
  exact law is the convolution of those. The p-value is one-sided (only drops count). For a
  one-scenario suite it is Fisher's exact test; it needs no minimum number of scenarios (a
  suite of two scenarios that each went from 3 of 3 to 0 of 3 gives p = 1/400). It assumes the
  trials of a scenario are independent; it does not assume normality or equal trial counts.
- The effect (the change of the pass rate over the paired scenarios, trials pooled) has
  Newcombe's hybrid score interval built on Wilson intervals of the pooled counts. Pooling
  treats each run's passes as one binomial; scenarios that differ from each other only make
  the true variance smaller, so the interval errs on the wide side.
- `permutation_p` (a sign-flip test over scenarios) and `bootstrap_ci` remain for analyses
  whose unit is the scenario.
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


def _hypergeom(total: int, successes: int, draws: int) -> tuple[int, list[float]]:
    """(lowest value, probabilities) of the passes among `draws` of `total` trials holding
    `successes` passes, drawn without replacement."""
    low, high = max(0, draws - (total - successes)), min(draws, successes)
    whole = math.comb(total, draws)
    return low, [
        math.comb(successes, k) * math.comb(total - successes, draws - k) / whole
        for k in range(low, high + 1)
    ]


def drop_p_value(pairs: Sequence[tuple[tuple[int, int], tuple[int, int]]]) -> float:
    """One-sided exact p-value that the candidate passes less often than the baseline, from
    ((baseline trials, passes), (candidate trials, passes)) per scenario; see the module
    docstring (the exact stratified permutation test)."""
    offset, dist, observed = 0, [1.0], 0
    for (nb, xb), (nc, xc) in pairs:
        if nb <= 0 or nc <= 0:
            continue
        low, pmf = _hypergeom(nb + nc, xb + xc, nc)
        observed += xc
        offset += low
        merged = [0.0] * (len(dist) + len(pmf) - 1)
        for i, a in enumerate(dist):
            if a:
                for j, b in enumerate(pmf):
                    merged[i + j] += a * b
        dist = merged
    return min(1.0, sum(dist[: observed - offset + 1]))


def newcombe(
    base: tuple[int | float, int | float], cand: tuple[int | float, int | float], z: float = Z95
) -> tuple[float, float]:
    """Newcombe's hybrid score interval of candidate rate - baseline rate, from (passes,
    trials) of each, built on Wilson's interval of each rate."""
    (xb, nb), (xc, nc) = base, cand
    pb, pc = xb / nb, xc / nc
    lb, ub = _wilson_float(xb, nb, z)
    lc, uc = _wilson_float(xc, nc, z)
    d = pc - pb
    low = d - math.sqrt((pc - lc) ** 2 + (ub - pb) ** 2)
    high = d + math.sqrt((uc - pc) ** 2 + (pb - lb) ** 2)
    return (max(-1.0, low), min(1.0, high))


def _wilson_float(passes: float, n: float, z: float) -> tuple[float, float]:
    p = passes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(max(0.0, p * (1 - p)) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(level)


@dataclass(frozen=True)
class Comparison:
    """A paired comparison of one judge between a baseline and a candidate run."""

    scenarios: int
    baseline_rate: float  # pooled over the paired scenarios' trials
    candidate_rate: float
    effect: float  # candidate rate - baseline rate
    ci: tuple[float, float]  # 95% Newcombe interval of the effect
    p_value: float  # one-sided exact p-value of a drop
    regressed: list[str]
    fixed: list[str]
    counts: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))  # (passes, trials) each

    def significant_regression(self, alpha: float = 0.05) -> bool:
        """The exact test finds a drop at level `alpha`."""
        return self.effect < 0 and self.p_value <= alpha

    def lower_bound(self, alpha: float = 0.05) -> float:
        """One-sided (1 - alpha) lower confidence bound of the effect."""
        return newcombe(*self.counts, z=_z(1 - alpha))[0]


def compare(
    baseline: dict[str, tuple[int, int]], candidate: dict[str, tuple[int, int]]
) -> Comparison:
    """Paired by scenario: {scenario: (trials, passes)} for each run; scenarios in both count."""
    common = sorted(set(baseline) & set(candidate))
    if not common:
        raise ValueError("the runs share no scenario with verdicts for this judge")
    paired = [s for s in common if baseline[s][0] and candidate[s][0]]
    if not paired:
        raise ValueError("no shared scenario has pass/fail verdicts in both runs")
    base = {s: baseline[s][1] / baseline[s][0] for s in paired}
    cand = {s: candidate[s][1] / candidate[s][0] for s in paired}
    xb, nb = sum(baseline[s][1] for s in paired), sum(baseline[s][0] for s in paired)
    xc, nc = sum(candidate[s][1] for s in paired), sum(candidate[s][0] for s in paired)
    return Comparison(
        scenarios=len(paired),
        baseline_rate=xb / nb,
        candidate_rate=xc / nc,
        effect=xc / nc - xb / nb,
        ci=newcombe((xb, nb), (xc, nc)),
        p_value=drop_p_value([(baseline[s], candidate[s]) for s in paired]),
        regressed=[s for s in paired if cand[s] < base[s]],
        fixed=[s for s in paired if cand[s] > base[s]],
        counts=((xb, nb), (xc, nc)),
    )


def trials_needed(
    rates: Sequence[float],
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    max_trials: int = 1_000,
) -> int | None:
    """Trials per scenario (in each of the two runs) with which the gate decides, with
    probability `power`, both ways: a drop of `effect` in every scenario (down to 0) is found
    by the exact test at one-sided level `alpha`, and an unchanged candidate rules a drop of
    `effect` out (Newcombe's bound above -effect). `rates` are the baseline's per-scenario pass
    rates. None when more than `max_trials` would be needed.

    Normal approximations of both: with drops d_s = min(effect, p_s), the difference of the
    runs' total passes has mean n * sum(d_s) and variance n * sum(p(1-p) + q(1-q))
    (q = p - d) under the drop and n * sum(2 r(1-r)) (r = (p + q) / 2) under its null, less a
    continuity correction of 1 for the exact test's steps; the bound is computed at the
    expected pooled counts and must clear -effect by z_power times the effect's standard
    deviation under no change. Every added trial or scenario helps.
    """
    if not rates or effect <= 0:
        raise ValueError("needs at least one scenario rate and a positive effect")
    za, zb = _z(1 - alpha), _z(power)
    size = len(rates)
    drops = [min(effect, p) for p in rates]
    mean_rate = sum(rates) / size
    spread_drop = sum(
        p * (1 - p) + (p - d) * (1 - p + d) for p, d in zip(rates, drops, strict=True)
    )
    spread_null = sum(2 * (p - d / 2) * (1 - p + d / 2) for p, d in zip(rates, drops, strict=True))
    spread_same = sum(2 * p * (1 - p) for p in rates)
    for n in range(1, max_trials + 1):
        found = sum(drops) == 0 or sum(drops) * n - 1 >= za * math.sqrt(
            n * spread_null
        ) + zb * math.sqrt(n * spread_drop)
        pooled = (mean_rate * n * size, n * size)
        bound = newcombe(pooled, pooled, z=za)[0]
        ruled_out = bound - zb * math.sqrt(spread_same / n) / size > -effect
        if found and ruled_out:
            return n
    return None
