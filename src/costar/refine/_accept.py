"""The acceptance rules of the agent loop: the held-out split, and when a candidate may ship.

A candidate is rejected on a split when a scenario that passed at baseline now fails a judge
(strict: one fix must not cost another scenario), or when the gate's paired comparison with the
baseline finds a regression (an inconclusive comparison warns and does not reject; the strict
rule already catches a scenario that broke).
"""

from __future__ import annotations

import hashlib
import math

from costar.gate import GatePolicy, evaluate
from costar.judges import Verdict


def split_suite(
    ids_tags: dict[str, list[str]], tag: str, fraction: float
) -> tuple[list[str], list[str]]:
    """(train, held-out): scenarios tagged `tag` are held out; without any, a stable sample of
    `fraction` of the suite (by a hash of the id), at least one when fraction > 0."""
    tagged = sorted(s for s, tags in ids_tags.items() if tag in tags)
    if not tagged and fraction > 0 and len(ids_tags) > 1:
        ranked = sorted(ids_tags, key=lambda s: hashlib.sha256(s.encode()).hexdigest())
        tagged = sorted(ranked[: max(1, math.floor(len(ranked) * fraction))])
    return sorted(set(ids_tags) - set(tagged)), tagged


def failing(verdicts: list[Verdict], scenarios: set[str]) -> dict[str, set[str]]:
    """Scenario -> judges with a failing verdict, within `scenarios`."""
    out: dict[str, set[str]] = {}
    for v in verdicts:
        if v.scenario_id in scenarios and v.status == "ok" and v.passed is False:
            out.setdefault(v.scenario_id, set()).add(v.judge)
    return out


def passing(verdicts: list[Verdict], scenarios: set[str]) -> set[str]:
    """Scenarios (within `scenarios`) with pass/fail verdicts, none of them failing."""
    judged = {
        v.scenario_id for v in verdicts if v.scenario_id in scenarios and v.passed is not None
    }
    return judged - set(failing(verdicts, scenarios))


def check_split(
    name: str, before: list[Verdict], after: list[Verdict], scenarios: set[str], alpha: float
) -> list[str]:
    """Why the candidate may not ship on this split (empty: it may)."""
    b = [v for v in before if v.scenario_id in scenarios]
    a = [v for v in after if v.scenario_id in scenarios]
    reasons = []
    broken = failing(a, scenarios)
    for s in sorted(passing(b, scenarios) & set(broken)):
        reasons.append(
            f"{name}: broke {s}, which passed before (now fails {', '.join(sorted(broken[s]))})"
        )
    gate = evaluate(b, a, GatePolicy(alpha=alpha))
    return reasons + [f"{name}: {r}" for r in gate.reasons]
