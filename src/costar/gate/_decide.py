"""Per-judge decisions of the gate: pass, regression or inconclusive, at one family-wise level.

The rules, for each gated judge with verdicts in both runs (see `costar.assess._stats`):

- regression: the exact stratified test of a drop (one-sided; for a one-scenario suite,
  Fisher's exact test) rejects "no change" under Holm's step-down procedure over all those
  judges at the policy's `alpha`. Holm keeps the chance that an unchanged candidate fails any
  judge at most `alpha` whatever the number of judges and however they depend on each other.
  A candidate that breaks every scenario of a tiny suite is found this way when the trials can
  show it: two scenarios that go from 3 of 3 passing trials to 0 of 3 give p = 1/400.
- pass: no regression, and the data rule out a drop of the policy's `effect`: the one-sided
  (1 - alpha) Newcombe lower bound of the change in pass rate is above -effect. A candidate
  whose true drop is `effect` passes a judge with probability at most about `alpha`; the gate
  passes only when every judge does, so this holds for the gate as a whole without adjustment
  (an intersection-union test).
- inconclusive: neither. The data cannot tell at this level; the decision says how many trials
  per scenario would decide it (the computation behind `costar plan`), and the policy's
  `on_inconclusive` says whether that passes, warns or fails.

The false-alarm rate of the whole gate and its power are measured by simulation in
bench/gate_stats.py and stated in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from costar.assess import Comparison, trials_needed

Decision = Literal["pass", "regression", "inconclusive"]


@dataclass
class JudgeDecision:
    """One judge's paired decision and the numbers behind it."""

    judge: str
    decision: Decision
    comparison: Comparison
    threshold: float  # the Holm level the judge's p-value was held to
    bound: float  # one-sided lower confidence bound of the change in pass rate
    trials: int | None = None  # trials per scenario that would decide it (when inconclusive)
    trials_now: int = 0  # trials per scenario in the baseline now (the fewest)

    @property
    def detail(self) -> str:
        c = self.comparison
        text = (
            f"pass rate {c.baseline_rate:.0%} -> {c.candidate_rate:.0%}, effect {c.effect:+.2f} "
            f"[95% CI {c.ci[0]:+.2f}, {c.ci[1]:+.2f}], p = {c.p_value:.3g} "
            f"(Holm level {self.threshold:.3g})"
        )
        if self.decision == "regression":
            return f"{text}; regressed: {', '.join(c.regressed[:5])}"
        if self.decision == "inconclusive":
            advice = (
                f"about {self.trials} trials per scenario (now {self.trials_now}) would decide "
                "it (costar plan)"
                if self.trials
                else "more scenarios or trials than costar plan can size would decide it"
            )
            return (
                f"{text}; inconclusive: neither a regression nor a drop of at most the policy's "
                f"effect can be shown (lower bound {self.bound:+.2f}); {advice}"
            )
        return text


def holm(p_values: dict[str, float], alpha: float) -> dict[str, tuple[bool, float]]:
    """Holm's step-down procedure: name -> (rejected, the level its p-value was held to)."""
    ordered = sorted(p_values.items(), key=lambda item: (item[1], item[0]))
    out: dict[str, tuple[bool, float]] = {}
    going = True
    for rank, (name, p) in enumerate(ordered):
        level = alpha / (len(ordered) - rank)
        going = going and p <= level
        out[name] = (going, level)
    return out


def decide(
    comparisons: dict[str, Comparison],
    rates: dict[str, list[float]],
    trials_now: dict[str, int],
    alpha: float,
    effect: float,
    power: float,
) -> dict[str, JudgeDecision]:
    """Decisions for every judge in `comparisons` as one family; `rates` are each judge's
    baseline pass rates per scenario (for the trials advice)."""
    tested = holm({name: c.p_value for name, c in comparisons.items()}, alpha)
    out: dict[str, JudgeDecision] = {}
    for name, c in comparisons.items():
        rejected, level = tested[name]
        bound = c.lower_bound(alpha)
        decision: Decision
        if rejected and c.effect < 0:
            decision = "regression"
        elif bound > -effect:
            decision = "pass"
        else:
            decision = "inconclusive"
        trials = None
        if decision == "inconclusive" and rates.get(name):
            trials = trials_needed(rates[name], effect, alpha / len(comparisons), power)
        out[name] = JudgeDecision(name, decision, c, level, bound, trials, trials_now.get(name, 0))
    return out
