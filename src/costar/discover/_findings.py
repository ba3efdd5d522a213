"""What discovery starts from: failing verdicts with their rationales, and traces that no judge
failed but whose metrics are far from the rest (a robust z-score above a threshold).

An anomaly is judged against every trace of the runs read together (their median and MAD, as
`costar monitor` judges a window against its baseline), on the upper side only: more tokens,
calls, failures or time than usual. Its text names the metrics and the tools the trace called,
so anomalies of one kind read alike.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from costar.judges import Verdict
from costar.monitor import robust_z
from costar.traces import TraceView


@dataclass(frozen=True)
class Finding:
    """One thing that went wrong in one trace: a failing verdict, or a metric anomaly."""

    trace_id: str
    run_id: str
    scenario_id: str
    judge: str | None  # None: no judge failed it; it stood out on the metrics
    text: str

    @property
    def kind(self) -> str:
        return "anomaly" if self.judge is None else "verdict"


def failing(verdicts: list[Verdict]) -> list[Finding]:
    """A finding per failing verdict (judged, passed False), with its rationale."""
    return [
        Finding(v.trace_id, v.run_id, v.scenario_id, v.judge, f"{v.judge}: {v.rationale}")
        for v in verdicts
        if v.status == "ok" and v.passed is False
    ]


@dataclass(frozen=True)
class Outlier:
    """A metric of one trace far above the usual."""

    trace_id: str
    run_id: str
    scenario_id: str
    metric: str
    value: float
    median: float
    z: float


def outliers(verdicts: list[Verdict], z: float, exclude: set[str]) -> list[Outlier]:
    """Metric values more than `z` robust standard deviations above their median, on traces
    not in `exclude` (those a judge failed already). Latency is left out: it moves with the
    machine's load, not with what the agent did."""
    values: dict[str, list[tuple[Verdict, float]]] = {}
    for v in verdicts:
        if "latency" in v.judge:
            continue
        if v.kind == "metric" and v.status == "ok" and isinstance(v.value, (int, float)):
            values.setdefault(v.judge, []).append((v, float(v.value)))
    found = []
    for metric, rows in sorted(values.items()):
        if len(rows) < 5:  # too few to say what is usual
            continue
        baseline = [x for _, x in rows]
        median = sorted(baseline)[len(baseline) // 2]
        for v, x in rows:
            score = robust_z(x, baseline)
            if v.trace_id not in exclude and score > z:
                found.append(
                    Outlier(v.trace_id, v.run_id, v.scenario_id, metric, x, median, round(score, 1))
                )
    return found


def anomalies(found: list[Outlier], views: dict[str, TraceView]) -> list[Finding]:
    """One finding per outlying trace: its outlying metrics and the tools it called."""
    by_trace: dict[str, list[Outlier]] = {}
    for o in found:
        by_trace.setdefault(o.trace_id, []).append(o)
    out = []
    for trace_id, items in sorted(by_trace.items()):
        view = views.get(trace_id)
        parts = [
            f"{o.metric.removeprefix('metric:')} {o.value:g} (usual {o.median:g})" for o in items
        ]
        text = "no judge failed, but metrics stand out: " + ", ".join(parts)
        if view is not None:
            calls = Counter(c.name for c in view.tool_calls())
            if calls:
                text += "; tools called: " + ", ".join(
                    f"{name} x{n}" if n > 1 else name for name, n in calls.most_common()
                )
        out.append(Finding(trace_id, items[0].run_id, items[0].scenario_id, None, text))
    return out
