"""History: a suite's last N runs side by side, per judge and per metric.

Per run and judge: the pass rate with its Wilson 95% interval. Per run and metric: the median
and p90 of its trials' values, and whether the run holds an outlier by the monitor's rule
(`costar.monitor.robust_outliers`: a trial more than `z` robust standard deviations above the
`baseline_windows` runs before it, each value taken relative to its scenario's typical value
there; see `metric_history`). Runs whose recorded
dependencies changed from the run before are marked with what changed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from costar._exceptions import UsageError
from costar.assess import VerdictStore, quantile, wilson
from costar.gate import dependency_changes, suite_of
from costar.judges import Verdict
from costar.monitor import AlertPolicy, robust_outliers, robust_z
from costar.traces import RunInfo, TraceStore


@dataclass
class RunPoint:
    """One run of the suite, as the history shows it."""

    run_id: str
    name: str
    started: float  # unix seconds
    status: str
    agent_version: str
    dependency_changes: list[str] = field(default_factory=list)  # against the run before


@dataclass
class RatePoint:
    """A judge's pass rate in one run."""

    passed: int
    judged: int
    rate: float
    ci: tuple[float, float]  # Wilson 95%
    errors: int = 0


@dataclass
class MetricPoint:
    """A metric's values in one run."""

    n: int
    median: float
    p90: float
    outlier: bool = False  # a trial far above the runs before (the monitor's rule)
    max_z: float | None = None  # the highest robust z of the run's trials, when tested
    outlier_traces: list[str] = field(default_factory=list)


@dataclass
class History:
    """The last runs of one suite, oldest first; `judges` and `metrics` hold one entry per
    run (None where the run has no verdict of that judge)."""

    suite: str
    runs: list[RunPoint]
    judges: dict[str, list[RatePoint | None]]
    metrics: dict[str, list[MetricPoint | None]]
    unassessed: list[str] = field(default_factory=list)  # runs of the suite with no verdicts
    z: float = 5.0
    baseline_runs: int = 3
    min_n: int = 5

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _number(v: Verdict) -> float | None:
    if v.status != "ok" or isinstance(v.value, bool) or not isinstance(v.value, (int, float)):
        return None
    return float(v.value)


def suite_runs(store: TraceStore, anchor: RunInfo, last: int) -> list[RunInfo]:
    """Up to `last` runs of `anchor`'s suite that started no later than it, oldest first."""
    suite = suite_of(anchor)
    if suite is None:
        raise UsageError(
            f"run {anchor.run_id} names no suite (an import): history needs runs made by "
            "`costar run`"
        )
    found = [
        r
        for r in store.list_runs(limit=10_000)
        if r.start_time <= anchor.start_time
        and (s := suite_of(r)) is not None
        and s.same(suite)
        and r.status != "RUNNING"
    ]
    return list(reversed(found[:last]))


def history(
    store: TraceStore,
    verdicts: VerdictStore,
    last: int = 10,
    run_id: str | None = None,
    policy: AlertPolicy | None = None,
) -> History:
    """The history of the suite of `run_id` (default: the newest run) over its last `last`
    assessed runs, oldest first."""
    if last < 1:
        raise UsageError(f"--history {last}: give a number of runs of at least 1")
    rule = policy or AlertPolicy()
    anchor = store.resolve_run(run_id)
    suite = suite_of(anchor)
    runs: list[RunInfo] = []
    found: list[list[Verdict]] = []
    unassessed: list[str] = []
    for run in reversed(suite_runs(store, anchor, 10_000)):  # newest first
        if len(runs) == last:
            break
        got = verdicts.for_run(run.run_id)
        if got:
            runs.append(run)
            found.append(got)
        else:
            unassessed.append(run.run_id)
    runs.reverse()
    found.reverse()
    points = []
    for i, run in enumerate(runs):
        changes = dependency_changes(runs[i - 1], run) if i else []
        points.append(
            RunPoint(
                run_id=run.run_id,
                name=run.name,
                started=run.start_time,
                status=run.status,
                agent_version=run.params.get("agent_version", ""),
                dependency_changes=changes,
            )
        )
    judges = _rates(found)
    metrics = metric_history(found, rule)
    return History(
        suite=str(suite),
        runs=points,
        judges=judges,
        metrics=metrics,
        unassessed=unassessed,
        z=rule.z,
        baseline_runs=rule.baseline_windows,
        min_n=rule.min_n,
    )


def _rates(found: list[list[Verdict]]) -> dict[str, list[RatePoint | None]]:
    names = sorted({v.judge for run in found for v in run if v.passed is not None})
    out: dict[str, list[RatePoint | None]] = {}
    for name in names:
        series: list[RatePoint | None] = []
        for run in found:
            mine = [v for v in run if v.judge == name]
            judged = [v for v in mine if v.status == "ok" and v.passed is not None]
            errors = sum(v.status == "error" for v in mine)
            if not judged:
                series.append(None)
                continue
            passed = sum(bool(v.passed) for v in judged)
            n = len(judged)
            series.append(RatePoint(passed, n, passed / n, wilson(passed, n), errors))
        out[name] = series
    return out


def metric_history(
    found: list[list[Verdict]], rule: AlertPolicy
) -> dict[str, list[MetricPoint | None]]:
    """Per metric, one point per run (`found`: each run's verdicts, oldest first): the median
    and p90 of its trials' values, and whether a trial is an outlier by the monitor's rule
    (`robust_outliers`) against the `rule.baseline_windows` runs before it.

    A suite's scenarios differ in size and their trials vary by a factor, so each positive
    value is taken as the logarithm of its ratio to the median of its own scenario's values in
    those runs; the rule then compares the run's log ratios with the baseline runs', pooled
    over scenarios (a scenario needs `rule.min_n` baseline values to take part)."""
    names = sorted(
        {v.judge for run in found for v in run if v.kind == "metric" and _number(v) is not None}
    )
    out: dict[str, list[MetricPoint | None]] = {}
    for name in names:
        values = [
            [(v.scenario_id, x, v.trace_id) for v in run
             if v.judge == name and (x := _number(v)) is not None]
            for run in found
        ]  # fmt: skip
        series: list[MetricPoint | None] = []
        for i, mine in enumerate(values):
            if not mine:
                series.append(None)
                continue
            xs = [x for _, x, _ in mine]
            point = MetricPoint(len(xs), quantile(xs, 0.5), quantile(xs, 0.9))
            before = [v for run in values[max(0, i - rule.baseline_windows) : i] for v in run]
            typical = {}
            for scenario in {s for s, _, _ in mine}:
                own = [x for s, x, _ in before if s == scenario]
                if len(own) >= rule.min_n and (med := quantile(own, 0.5)) > 0:
                    typical[scenario] = med
            baseline = [math.log(x / typical[s]) for s, x, _ in before if s in typical and x > 0]
            tested = [(math.log(x / typical[s]), t) for s, x, t in mine if s in typical and x > 0]
            if tested and len(baseline) >= rule.min_n:
                ratios = [r for r, _ in tested]
                hits = robust_outliers(ratios, baseline, rule)
                point.max_z = round(max(robust_z(r, baseline) for r in ratios), 2)
                point.outlier = bool(hits)
                point.outlier_traces = [tested[j][1] for _, j in hits[:5]]
            series.append(point)
        out[name] = series
    return out
