"""The outlier mark of `costar report --history`: how often it marks a run of an unchanged
agent (its false-alarm rate) and how often it marks a run holding one runaway trial (power).

Simulated suites go through the real `costar.report.metric_history` (the monitor's rule,
`costar.monitor.robust_outliers`, with its defaults: robust z above 5 against the 3 runs
before, on the log of each value's ratio to its scenario's median in those runs). A
suite is 12 scenarios x 2
trials; each scenario has its own typical size (log-normal across scenarios, median 2,000
tokens, log-sd 0.8) and each trial varies around it: tokens by a log-normal factor with log-sd
0.15, latency by log-sd 0.4 (a heavier tail). One series is 10 runs; the runs with a full
baseline (runs 4 to 10) are counted. Power: in the last run one trial's value is multiplied by
3, 10 or 30. The anchor is the same rule on the same data: the monitor's own `robust_outliers`
called directly, which must agree exactly.

Usage: .venv/bin/python bench/history_outliers.py [--quick]
"""

from __future__ import annotations

import math
import random
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

from costar.assess import wilson  # noqa: E402
from costar.judges import Verdict  # noqa: E402
from costar.monitor import AlertPolicy, robust_outliers  # noqa: E402
from costar.report import metric_history  # noqa: E402

SERIES = 200 if quick() else 2_000
RUNS, SCENARIOS, TRIALS = 10, 12, 2
NOISE = {"metric:total_tokens": 0.15, "metric:latency_s": 0.4}


def series(rng: random.Random, metric: str, spike: float = 1.0) -> list[list[Verdict]]:
    sizes = [2_000 * rng.lognormvariate(0, 0.8) for _ in range(SCENARIOS)]
    runs = []
    for run in range(RUNS):
        found = []
        for s, size in enumerate(sizes):
            for t in range(TRIALS):
                value = size * rng.lognormvariate(0, NOISE[metric])
                if run == RUNS - 1 and (s, t) == (0, 0):
                    value *= spike
                found.append(
                    Verdict(
                        judge=metric, judge_version="v", kind="metric", trace_id=f"{run}-{s}-{t}",
                        scenario_id=f"s{s}", trial=t, value=value,
                    )
                )  # fmt: skip
        runs.append(found)
    return runs


def direct(runs: list[list[Verdict]], policy: AlertPolicy) -> list[bool]:
    """The monitor's rule called by hand on the same ratios (the anchor)."""
    out = []
    for i, run in enumerate(runs):
        before = [v for r in runs[max(0, i - policy.baseline_windows) : i] for v in r]
        typical = {}
        for s in {v.scenario_id for v in run}:
            own = sorted(float(v.value) for v in before if v.scenario_id == s)  # type: ignore[arg-type]
            if len(own) >= policy.min_n:
                typical[s] = statistics.median(own)
        base = [
            math.log(v.value / typical[v.scenario_id]) for v in before if v.scenario_id in typical
        ]  # type: ignore[operator]
        mine = [math.log(v.value / typical[v.scenario_id]) for v in run if v.scenario_id in typical]  # type: ignore[operator]
        out.append(len(base) >= policy.min_n and bool(robust_outliers(mine, base, policy)))
    return out


def main() -> None:
    rng = random.Random(16)
    policy = AlertPolicy()
    figures: dict[str, object] = {"machine": machine(), "series": SERIES, "runs": RUNS}
    agree = True
    for metric in NOISE:
        marked = tested = 0
        for _ in range(SERIES):
            runs = series(rng, metric)
            points = metric_history(runs, policy)[metric]
            flags = [bool(p and p.outlier) for p in points]
            agree &= flags == direct(runs, policy)
            marked += sum(flags[policy.baseline_windows :])
            tested += RUNS - policy.baseline_windows
        lo, hi = wilson(marked, tested)
        name = metric.removeprefix("metric:")
        figures[f"{name}_false_alarm_per_run"] = round(marked / tested, 5)
        figures[f"{name}_false_alarm_ci95"] = [round(lo, 5), round(hi, 5)]
        print(f"{name}: unchanged runs marked {marked}/{tested} = {marked / tested:.3%} "
              f"[95% CI {lo:.3%}, {hi:.3%}]")  # fmt: skip
        for spike in (3.0, 10.0, 30.0):
            found = sum(
                bool((p := metric_history(series(rng, metric, spike), policy)[metric][-1])
                     and p.outlier)
                for _ in range(SERIES)
            )  # fmt: skip
            lo, hi = wilson(found, SERIES)
            figures[f"{name}_power_x{spike:g}"] = round(found / SERIES, 4)
            print(f"{name}: one trial x{spike:g} in the last run marked {found}/{SERIES} = "
                  f"{found / SERIES:.1%} [95% CI {lo:.1%}, {hi:.1%}]")  # fmt: skip
    figures["agrees_with_monitor_rule"] = agree
    print(f"history marks == robust_outliers called directly: {agree} (ratio 1.0 when equal)")
    finish(figures)


if __name__ == "__main__":
    main()
