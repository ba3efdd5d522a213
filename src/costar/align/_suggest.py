"""What to label next: unlabelled traces ranked by how much a human label would help.

Signals, each with its reason shown per trace:
- the judge is unsure: k samples of the same judge disagree (`samples` > 1), or its verdict
  errored;
- judges that should agree (`judge_pairs` in costar.toml) disagree on the trace;
- the trace's scenario has no label yet (coverage).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from costar.align._golden import GoldenSet
from costar.assess import AssessConfig, score_traces
from costar.assess import run_scenarios as _scenarios
from costar.judges import Judge, Verdict, load_judges
from costar.traces import TraceCache, TraceStore

WEIGHTS = {"split": 1.0, "pair": 0.8, "error": 0.5, "coverage": 0.4}


@dataclass
class Suggestion:
    trace_id: str
    scenario_id: str
    score: float
    reasons: list[str] = field(default_factory=list)


def _outcome(v: Verdict) -> object:
    return v.passed if v.passed is not None else v.value


def rank(
    candidates: dict[str, str],
    verdicts: Iterable[Verdict],
    samples: dict[str, list[Verdict]],
    pairs: list[list[str]],
    labelled_scenarios: set[str],
) -> list[Suggestion]:
    """Rank `candidates` ({trace id: scenario id}) by the signals in the module docstring.
    `samples` maps a trace id to repeated samples of judges on it."""
    by_trace: dict[str, dict[str, Verdict]] = {}
    for v in verdicts:
        by_trace.setdefault(v.trace_id, {})[v.judge] = v
    out = []
    for trace_id, scenario_id in candidates.items():
        s = Suggestion(trace_id, scenario_id, 0.0)
        per_judge: dict[str, list[object]] = {}
        for v in samples.get(trace_id, []):
            if v.status == "ok":
                per_judge.setdefault(v.judge, []).append(_outcome(v))
        for name, outcomes in sorted(per_judge.items()):
            counts = Counter(map(str, outcomes)).most_common()
            minority = 1 - counts[0][1] / len(outcomes)
            if minority > 0:
                s.score += WEIGHTS["split"] * 2 * minority
                s.reasons.append(
                    f"{name} is unsure: {len(outcomes)} samples split "
                    + "/".join(f"{n} {o}" for o, n in counts)
                )
        mine = by_trace.get(trace_id, {})
        errored = sorted(name for name, v in mine.items() if v.status == "error")
        if errored:
            s.score += WEIGHTS["error"]
            s.reasons.append(f"judge error: {', '.join(errored)}")
        for a, b in (p for p in pairs if len(p) == 2):
            va, vb = mine.get(a), mine.get(b)
            if va and vb and va.status == vb.status == "ok" and va.passed != vb.passed:
                s.score += WEIGHTS["pair"]
                s.reasons.append(
                    f"{a} says {'pass' if va.passed else 'fail'}, {b} says "
                    f"{'pass' if vb.passed else 'fail'}"
                )
        if scenario_id not in labelled_scenarios:
            s.score += WEIGHTS["coverage"]
            s.reasons.append(f"scenario {scenario_id or '?'} has no labels yet")
        out.append(s)

    def order(s: Suggestion) -> tuple[float, str]:
        return (-s.score, hashlib.sha256(s.trace_id.encode()).hexdigest())

    return sorted(out, key=order)


def suggest(
    config: AssessConfig,
    run_id: str | None,
    judge: str | None,
    n: int,
    samples: int = 0,
    pairs: list[list[str]] | None = None,
) -> list[Suggestion]:
    """The `n` unlabelled traces of a run (default the newest) most worth labelling for
    `judge` (default any judge). With `samples` > 1, the judge scores each candidate that many
    times (nothing stored) to measure its uncertainty."""
    store = TraceStore(config.tracking_uri, config.experiment)
    run = store.resolve_run(run_id)
    rows = store.run_traces(run.run_id)
    golden = GoldenSet(store).labels(judge=judge)
    labelled = {lb.trace_id for lb in golden}
    candidates = {r.trace_id: r.scenario_id for r in rows if r.trace_id not in labelled}
    judges = load_judges(config.root, config.judge_paths)
    focus: Judge | None = next((j for j in judges if j.name == judge), None) if judge else None
    if judge and focus is None:
        load_judges(config.root, config.judge_paths, [judge])  # raises the clear error
    verdicts = score_traces(config, list(candidates), judges) if candidates else []
    extra: dict[str, list[Verdict]] = {}
    if samples > 1 and candidates:
        targets = [focus] if focus else [j for j in judges if j.kind in ("llm", "agentic")]
        extra = _sample(config, store, run.run_id, list(candidates), targets, samples)
    return rank(candidates, verdicts, extra, pairs or [], {lb.scenario_id for lb in golden})[:n]


def _sample(
    config: AssessConfig,
    store: TraceStore,
    run_id: str,
    ids: list[str],
    judges: list[Judge],
    k: int,
) -> dict[str, list[Verdict]]:
    """k fresh verdicts per (trace, judge), pooled per trace; nothing is stored."""
    from costar.assess import AssessSummary

    cache = TraceCache.in_project(config.root)
    try:
        views = store.views(ids, cache)
    finally:
        cache.close()
    scenarios = _scenarios(store, run_id, AssessSummary())
    jobs = [(v, j) for v in views for j in judges for _ in range(k)]
    with ThreadPoolExecutor(config.concurrency) as pool:
        results = list(
            pool.map(lambda vj: vj[1].score(vj[0], scenarios.get(vj[0].scenario_id)), jobs)
        )
    out: dict[str, list[Verdict]] = {}
    for verdict in results:
        out.setdefault(verdict.trace_id, []).append(verdict)
    return out
