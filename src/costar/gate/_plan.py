"""How many trials per scenario the gate needs to decide a drop of a given size, per judge.

The gate shares its false-alarm level over every gated judge (Holm), so the plan sizes each
judge's test at alpha / J, the level Holm holds the first judge to; see `trials_needed`.
"""

from __future__ import annotations

from dataclasses import dataclass

from costar.assess import summarise, trials_needed
from costar.judges import Verdict


@dataclass
class TrialPlan:
    """One judge's plan."""

    judge: str
    scenarios: int
    mean_rate: float
    trials: int | None  # None: more than 1,000 per scenario


def plan_trials(
    verdicts: list[Verdict],
    effect: float = 0.15,
    alpha: float = 0.05,
    power: float = 0.8,
    judges: list[str] | None = None,
) -> list[TrialPlan]:
    """Per pass/fail judge of a run (or those in `judges`), the trials per scenario with which
    the gate decides a drop of `effect` with probability `power` at family-wise level `alpha`."""
    summaries = summarise(verdicts)
    rated: dict[str, list[float]] = {}
    for name, s in sorted(summaries.items()):
        if judges is not None and name not in judges:
            continue
        rates = [c / n for n, c in s.per_scenario.values() if n]
        if rates:
            rated[name] = rates
    level = alpha / max(1, len(rated))
    return [
        TrialPlan(
            name,
            len(rates),
            round(sum(rates) / len(rates), 4),
            trials_needed(rates, effect, level, power),
        )
        for name, rates in rated.items()
    ]
