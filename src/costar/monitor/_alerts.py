"""Per-window statistics of production verdicts, the alerts they raise, and where alerts go.

Alerts compare a window with the pooled windows before it (the baseline):
- `pass_rate_drop`: a judge's pass rate fell, by the one-sided Fisher exact test at `alpha`
  (and by at least `min_drop`, so a tiny but significant wobble on huge traffic stays quiet);
- `metric_anomaly`: conversations whose cost, tokens or latency lie far above the baseline, by
  a robust z-score (distance from the baseline median in units of 1.4826 x MAD);
- `tool_failures`: more conversations with a failing tool call (Fisher, upper tail);
- `judge_errors`: a judge errs more often (Fisher, upper tail).
Each alert names the judge or metric, the window, the numbers, the test and example traces.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from costar.assess import VerdictStore, quantile, wilson
from costar.judges import Verdict

ANOMALY_METRICS = ("metric:cost_usd", "metric:total_tokens", "metric:latency_s")
TOOL_FAILURES = "metric:tool_failure_ratio"


def fisher_lower(a: int, b: int, c: int, d: int) -> float:
    """One-sided Fisher exact p-value that the second group's success share (c of c+d) is lower
    than the first's (a of a+b): P(X <= c) under the hypergeometric null."""
    n, k, m = a + b + c + d, a + c, c + d

    def logp(x: int) -> float:
        return _lcomb(k, x) + _lcomb(n - k, m - x) - _lcomb(n, m)

    low = max(0, m - (n - k))
    return min(1.0, sum(math.exp(logp(x)) for x in range(low, c + 1)))


def _lcomb(n: int, r: int) -> float:
    if r < 0 or r > n:
        return float("-inf")
    return math.lgamma(n + 1) - math.lgamma(r + 1) - math.lgamma(n - r + 1)


def robust_z(value: float, baseline: list[float]) -> float:
    """Distance of `value` above the baseline median in robust standard deviations."""
    med = quantile(sorted(baseline), 0.5)
    mad = quantile(sorted(abs(x - med) for x in baseline), 0.5) * 1.4826
    scale = mad or (0.1 * abs(med)) or 1.0  # a constant baseline: 10% of it counts as one unit
    return (value - med) / scale


def robust_outliers(
    values: Sequence[float], baseline: Sequence[float], policy: AlertPolicy
) -> list[tuple[float, int]]:
    """The values far above the baseline, as (robust z, index), highest first: the rule of
    the monitor's `metric_anomaly` alert (robust z-score above `policy.z`). Nothing is an
    outlier while the baseline holds fewer than `policy.min_n` values."""
    if len(baseline) < policy.min_n:
        return []
    ref = list(baseline)
    scored = sorted(((robust_z(x, ref), i) for i, x in enumerate(values)), reverse=True)
    return [(z, i) for z, i in scored if z > policy.z]


@dataclass
class Window:
    """One window of production verdicts."""

    run_id: str
    verdicts: list[Any]  # Verdicts, or the verdict store's light VerdictRows

    @property
    def label(self) -> str:
        return self.run_id.split(":", 2)[-1]

    def stats(self) -> dict[str, Any]:
        """Per judge: counts, pass rate with its Wilson interval, error rate; per metric: n,
        median and p90."""
        judges: dict[str, dict[str, Any]] = {}
        metrics: dict[str, list[float]] = {}
        for v in self.verdicts:
            row = judges.setdefault(
                v.judge, {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "measured": 0}
            )
            if v.status != "ok":
                row[v.status] += 1
            elif v.passed is not None:
                row["passed" if v.passed else "failed"] += 1
            else:
                row["measured"] += 1
            if v.status == "ok" and _num(v.value):
                metrics.setdefault(v.judge, []).append(float(v.value))
        for row in judges.values():
            n = row["passed"] + row["failed"]
            row["rate"] = row["passed"] / n if n else None
            row["ci"] = wilson(row["passed"], n) if n else None
            judged = n + row["error"]
            row["error_rate"] = row["error"] / judged if judged else 0.0
        return {
            "window": self.label,
            "judges": judges,
            "metrics": {
                m: {
                    "n": len(xs),
                    "median": quantile(sorted(xs), 0.5),
                    "p90": quantile(sorted(xs), 0.9),
                }
                for m, xs in metrics.items()
            },
        }


@dataclass
class Alert:
    """One alert: its kind (drift, cost, errors), the judge or metric, the window, the test
    behind it and its numbers, example trace ids, and the message shown."""

    kind: str
    subject: str
    window: str
    test: str
    numbers: dict[str, Any]
    examples: list[str] = field(default_factory=list)
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AlertPolicy:
    """When a window alerts: false-alarm level, the smallest drop worth an alert, baseline
    windows, the z limit for metrics, and the verdicts a window needs."""

    alpha: float = 0.01
    min_drop: float = 0.05
    baseline_windows: int = 3
    z: float = 5.0
    min_n: int = 5  # verdicts a window needs before it is tested


def _pass_counts(vs: list[Verdict], judge: str) -> tuple[int, int, list[str]]:
    ok = [v for v in vs if v.judge == judge and v.status == "ok" and v.passed is not None]
    fails = [v.trace_id for v in ok if not v.passed]
    return len(ok) - len(fails), len(fails), fails


def detect(current: Window, baseline: list[Window], policy: AlertPolicy) -> list[Alert]:
    """The alerts `current` raises against the pooled `baseline` windows."""
    if not baseline:
        return []
    base = [v for w in baseline for v in w.verdicts]
    now = current.verdicts
    span = f"{baseline[0].label}..{baseline[-1].label}"
    alerts: list[Alert] = []
    for judge in sorted({v.judge for v in now if v.passed is not None}):
        a, b, _ = _pass_counts(base, judge)
        c, d, fails = _pass_counts(now, judge)
        if a + b < policy.min_n or c + d < policy.min_n:
            continue
        before, after = a / (a + b), c / (c + d)
        p = fisher_lower(a, b, c, d)
        if p < policy.alpha and before - after >= policy.min_drop:
            alerts.append(
                Alert(
                    "pass_rate_drop",
                    judge,
                    current.label,
                    "one-sided Fisher exact test",
                    {
                        "baseline_rate": round(before, 4),
                        "window_rate": round(after, 4),
                        "baseline_n": a + b,
                        "window_n": c + d,
                        "p_value": p,
                        "baseline": span,
                    },
                    fails[:5],
                    f"{judge}: pass rate {before:.0%} -> {after:.0%} (n={c + d}, p={p:.2g}, "
                    f"Fisher exact) in window {current.label}",
                )
            )
    for metric in ANOMALY_METRICS:
        ref = [float(v.value) for v in base if v.judge == metric and _num(v.value)]
        mine = [v for v in now if v.judge == metric and _num(v.value)]
        found = robust_outliers([float(v.value) for v in mine], ref, policy)
        outliers = [(z, mine[i].trace_id, float(mine[i].value)) for z, i in found]
        if outliers:
            alerts.append(
                Alert(
                    "metric_anomaly",
                    metric,
                    current.label,
                    f"robust z-score > {policy.z:g}",
                    {
                        "conversations": len(outliers),
                        "baseline_median": quantile(sorted(ref), 0.5),
                        "max_value": outliers[0][2],
                        "max_z": round(outliers[0][0], 2),
                        "baseline": span,
                    },
                    [t for _, t, _ in outliers[:5]],
                    f"{metric}: {len(outliers)} conversation(s) far above the baseline "
                    f"median {quantile(sorted(ref), 0.5):.4g} (max {outliers[0][2]:.4g}, "
                    f"z={outliers[0][0]:.1f}) in window {current.label}",
                )
            )
    alerts += _upper_tail(
        "tool_failures",
        "tool calls",
        base,
        now,
        current.label,
        span,
        policy,
        lambda v: v.judge == TOOL_FAILURES and _num(v.value),
        lambda v: float(v.value) > 0,
    )
    for judge in sorted({v.judge for v in now}):
        alerts += _upper_tail(
            "judge_errors",
            judge,
            base,
            now,
            current.label,
            span,
            policy,
            lambda v, j=judge: v.judge == j and v.status != "skipped",
            lambda v: v.status == "error",
        )
    return alerts


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _upper_tail(kind, subject, base, now, label, span, policy, counted, bad) -> list[Alert]:
    b_all = [v for v in base if counted(v)]
    n_all = [v for v in now if counted(v)]
    if len(b_all) < policy.min_n or len(n_all) < policy.min_n:
        return []
    b_bad, n_bad = sum(map(bad, b_all)), [v.trace_id for v in n_all if bad(v)]
    # more "bad" now is fewer "good" now: the lower tail of the good counts
    p = fisher_lower(len(b_all) - b_bad, b_bad, len(n_all) - len(n_bad), len(n_bad))
    before, after = b_bad / len(b_all), len(n_bad) / len(n_all)
    if p >= policy.alpha or after - before < policy.min_drop:
        return []
    what = "conversations with a failing tool call" if kind == "tool_failures" else "errors"
    return [
        Alert(
            kind,
            subject,
            label,
            "one-sided Fisher exact test",
            {
                "baseline_rate": round(before, 4),
                "window_rate": round(after, 4),
                "baseline_n": len(b_all),
                "window_n": len(n_all),
                "p_value": p,
                "baseline": span,
            },
            n_bad[:5],
            f"{subject}: {what} {before:.0%} -> {after:.0%} (n={len(n_all)}, p={p:.2g}, Fisher "
            f"exact) in window {label}",
        )
    ]


def alerts_for(
    verdicts: VerdictStore, name: str, touched: set[str], policy: AlertPolicy
) -> tuple[list[Alert], list[dict[str, Any]]]:
    """Alerts and statistics of the windows in `touched`, each window tested against the
    windows just before it. Only a window and its baseline are in memory at a time, so a long
    history costs no memory."""
    ids = verdicts.run_ids(f"monitor:{name}:")
    loaded: dict[str, Window] = {}
    alerts: list[Alert] = []
    stats: list[dict[str, Any]] = []
    for i, run_id in enumerate(ids):
        if run_id not in touched:
            continue
        wanted = ids[max(0, i - policy.baseline_windows) : i + 1]
        loaded = {r: loaded.get(r) or Window(r, verdicts.rows_for_run(r)) for r in wanted}
        current = loaded[run_id]
        alerts += detect(current, [loaded[r] for r in wanted[:-1]], policy)
        stats.append(current.stats())
    return alerts, stats


# -- sinks ---------------------------------------------------------------------------------
def send(alerts: list[Alert], jsonl: Path | None = None, webhook: str | None = None) -> list[str]:
    """Append alerts to a JSON-lines file and POST them to a webhook; problems are returned,
    never raised, so one broken sink does not lose the others."""
    problems: list[str] = []
    if not alerts:
        return problems
    if jsonl is not None:
        jsonl.parent.mkdir(parents=True, exist_ok=True)
        with jsonl.open("a", encoding="utf-8") as fh:
            for a in alerts:
                fh.write(json.dumps({**a.to_json(), "at": time.time()}) + "\n")
    if webhook:
        import httpx

        body = {"source": "costar monitor", "alerts": [a.to_json() for a in alerts]}
        for attempt in range(3):
            try:
                httpx.post(webhook, json=body, timeout=10).raise_for_status()
                break
            except httpx.HTTPError as exc:
                if attempt == 2:
                    problems.append(f"webhook {webhook}: {exc}")
                else:
                    time.sleep(0.5 * (attempt + 1))
    return problems
