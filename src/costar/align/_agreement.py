"""How well a judge agrees with the humans: accuracy, Cohen's kappa with a bootstrap interval,
the confusion matrix, a per-scenario breakdown and the disagreements; for numeric judges, mean
absolute error and Spearman's rho.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from costar.assess import quantile


@dataclass(frozen=True)
class Pair:
    """A human's (consensus) answer and the judge's on one trace."""

    trace_id: str
    scenario_id: str
    human: Any
    judge: Any
    rationale: str = ""  # the judge's
    human_rationale: str = ""


def _category(value: Any) -> str:
    if isinstance(value, bool):
        return "pass" if value else "fail"
    return str(value)


def cohen_kappa(human: Sequence[Any], judge: Sequence[Any]) -> float | None:
    """Cohen's kappa of two raters over the same items; None when undefined (one category)."""
    n = len(human)
    if n == 0 or n != len(judge):
        return None
    h = [_category(v) for v in human]
    j = [_category(v) for v in judge]
    observed = sum(a == b for a, b in zip(h, j, strict=True)) / n
    ch, cj = Counter(h), Counter(j)
    expected = sum(ch[c] * cj[c] for c in set(ch) | set(cj)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def kappa_interval(
    human: Sequence[Any],
    judge: Sequence[Any],
    iterations: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of kappa, resampling items; None when undefined."""
    n = len(human)
    if n < 2:
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(iterations):
        idx = [rng.randrange(n) for _ in range(n)]
        k = cohen_kappa([human[i] for i in idx], [judge[i] for i in idx])
        if k is not None:
            values.append(k)
    if len(values) < iterations // 2:
        return None
    values.sort()
    tail = (1 - level) / 2
    return (quantile(values, tail), quantile(values, 1 - tail))


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):  # ties share their mean rank
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rank correlation (Pearson over ranks, ties averaged); None when undefined."""
    if len(x) < 2 or len(x) != len(y):
        return None
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    vx = sum((a - mx) ** 2 for a in rx)
    vy = sum((b - my) ** 2 for b in ry)
    if vx == 0 or vy == 0:
        return None
    return cov / math.sqrt(vx * vy)


@dataclass
class Agreement:
    """One judge against the golden set."""

    judge: str
    n: int
    numeric: bool
    accuracy: float | None = None
    kappa: float | None = None
    kappa_ci: tuple[float, float] | None = None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)  # human -> judge -> n
    mae: float | None = None
    spearman: float | None = None
    per_scenario: dict[str, dict[str, int]] = field(default_factory=dict)
    disagreements: list[Pair] = field(default_factory=list)
    unscored: int = 0  # labelled traces the judge skipped or errored on

    @property
    def score(self) -> float | None:
        """The headline figure: kappa when defined, else accuracy (Spearman for numbers)."""
        if self.numeric:
            return self.spearman
        return self.kappa if self.kappa is not None else self.accuracy

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["disagreements"] = [asdict(p) for p in self.disagreements]
        data["score"] = self.score
        return data


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def agreement(judge: str, pairs: Sequence[Pair], unscored: int = 0, seed: int = 0) -> Agreement:
    """Agreement statistics over (human, judge) pairs."""
    numeric = bool(pairs) and all(_is_number(p.human) and _is_number(p.judge) for p in pairs)
    out = Agreement(judge=judge, n=len(pairs), numeric=numeric, unscored=unscored)
    if not pairs:
        return out
    human = [p.human for p in pairs]
    judged = [p.judge for p in pairs]
    if numeric:
        errors = [abs(float(h) - float(j)) for h, j in zip(human, judged, strict=True)]
        out.mae = sum(errors) / len(errors)
        out.spearman = spearman([float(v) for v in human], [float(v) for v in judged])
        agree = [e < 1e-9 for e in errors]
    else:
        agree = [_category(h) == _category(j) for h, j in zip(human, judged, strict=True)]
        out.kappa = cohen_kappa(human, judged)
        out.kappa_ci = kappa_interval(human, judged, seed=seed)
        for h, j in zip(human, judged, strict=True):
            row = out.confusion.setdefault(_category(h), {})
            row[_category(j)] = row.get(_category(j), 0) + 1
    out.accuracy = sum(agree) / len(agree)
    for pair, ok in zip(pairs, agree, strict=True):
        stats = out.per_scenario.setdefault(pair.scenario_id or "?", {"n": 0, "agree": 0})
        stats["n"] += 1
        stats["agree"] += int(ok)
        if not ok:
            out.disagreements.append(pair)
    return out
