"""Judge noise apart from agent noise: score each trace k times with one judge."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import combinations

from costar.judges import Judge
from costar.traces import TraceCache, TraceStore


@dataclass
class Consistency:
    """How often k samples of one judge agree on the same trace."""

    judge: str
    k: int
    traces: int = 0
    unanimous: float = 0.0  # share of traces whose k verdicts all agree
    pairwise: float = 0.0  # mean agreement over pairs of samples
    errors: int = 0
    split: list[str] = field(default_factory=list)  # traces whose samples disagree


def self_consistency(
    store: TraceStore,
    cache: TraceCache,
    run_id: str,
    judge: Judge,
    scenarios: dict,
    k: int = 5,
    concurrency: int = 8,
) -> Consistency:
    """Score every trace of the run k times with `judge` (nothing is stored)."""
    ids = [row.trace_id for row in store.run_traces(run_id)]
    views = store.views(ids, cache)
    jobs = [(v, i) for v in views for i in range(k)]
    with ThreadPoolExecutor(concurrency) as pool:
        verdicts = list(
            pool.map(lambda job: judge.score(job[0], scenarios.get(job[0].scenario_id)), jobs)
        )
    result = Consistency(judge=judge.name, k=k)
    pairs_agree = pairs = unanimous = 0
    for index, view in enumerate(views):
        samples = verdicts[index * k : (index + 1) * k]
        result.errors += sum(s.status == "error" for s in samples)
        outcomes = [
            s.passed if s.passed is not None else s.value for s in samples if s.status == "ok"
        ]
        if len(outcomes) < 2:
            continue
        result.traces += 1
        agree = [a == b for a, b in combinations(outcomes, 2)]
        pairs += len(agree)
        pairs_agree += sum(agree)
        if all(agree):
            unanimous += 1
        else:
            result.split.append(view.trace_id)
    if result.traces:
        result.unanimous = round(unanimous / result.traces, 4)
        result.pairwise = round(pairs_agree / pairs, 4)
    return result
