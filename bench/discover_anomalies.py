"""The false-alarm rate of `costar discover`'s anomaly rule, by simulation.

The rule (`costar.discover._findings.outliers`): a trace no judge failed is an anomaly when one
of its metrics (tokens, cost, tool calls, steps, tool failures; not latency) is more than `z`
robust standard deviations (median and MAD of the runs read together) above the median, with
at least 5 values. Here every trace is healthy: its metrics are drawn from one distribution per
run, so every anomaly flagged is a false alarm. Reported, with Wilson 95% intervals:

- `per_trace`: the share of healthy traces flagged;
- `per_run`: the share of runs of `TRACES` traces with at least one false alarm (what a user
  sees: a mode of anomalies that is not there).

Two kinds of healthy traffic: `typical` (token counts log-normal with sigma 0.35, tool calls
1 + Poisson(3), rare tool failures) and `skewed` (sigma 0.7 and Poisson(6): long-tailed, as
agents that sometimes read much more are). The default z is 5 (DiscoverConfig.z); z = 3.5 is
shown beside it for comparison. The anomaly rule's own code is called; nothing is re-implemented.

Usage: .venv/bin/python bench/discover_anomalies.py [--quick]
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

RUNS = 200 if quick() else 2_000
TRACES = 50
SEED = 11
KINDS = {"typical": (0.35, 3.0), "skewed": (0.7, 6.0)}


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def healthy_run(rng: random.Random, run: int, sigma: float, calls: float) -> list:
    """Metric verdicts of TRACES healthy traces of one run."""
    from costar.judges import Verdict

    out = []
    for t in range(TRACES):
        tid = f"tr-{run}-{t}"
        tokens = round(3000 * math.exp(rng.gauss(0, sigma)))
        n_calls = 1 + _poisson(rng, calls)
        values = {
            "metric:total_tokens": tokens,
            "metric:cost_usd": round(tokens * 2e-6, 6),
            "metric:tool_calls": n_calls,
            "metric:steps": n_calls + 1,
            "metric:tool_failures": int(rng.random() < 0.05),
            "metric:latency_s": round(rng.expovariate(1.0), 3),  # left out by the rule
        }
        for judge, value in values.items():
            out.append(
                Verdict(
                    judge=judge,
                    judge_version="v",
                    kind="metric",
                    trace_id=tid,
                    run_id=f"run-{run}",
                    value=value,
                )
            )
    return out


def main() -> None:
    from costar.assess import wilson
    from costar.discover._findings import outliers

    started = time.perf_counter()
    figures: dict[str, object] = {"bench": "discover_anomalies", "runs": RUNS, "traces": TRACES}
    for kind, (sigma, calls) in KINDS.items():
        rng = random.Random(f"{SEED}-{kind}")
        runs = [healthy_run(rng, r, sigma, calls) for r in range(RUNS)]
        for z in (5.0, 3.5):
            flagged = runs_flagged = 0
            for verdicts in runs:
                traces = {o.trace_id for o in outliers(verdicts, z, set())}
                flagged += len(traces)
                runs_flagged += bool(traces)
            n = RUNS * TRACES
            t_lo, t_hi = wilson(flagged, n)
            r_lo, r_hi = wilson(runs_flagged, RUNS)
            key = f"{kind}_z{z:g}"
            figures[key] = {
                "per_trace": round(flagged / n, 5),
                "per_trace_ci": [round(t_lo, 5), round(t_hi, 5)],
                "per_run": round(runs_flagged / RUNS, 4),
                "per_run_ci": [round(r_lo, 4), round(r_hi, 4)],
            }
            print(
                f"{kind:8s} z={z:g}: {flagged} of {n} healthy traces flagged "
                f"({flagged / n:.3%} [95% CI {t_lo:.3%}, {t_hi:.3%}]); runs with a false alarm "
                f"{runs_flagged / RUNS:.1%} [{r_lo:.1%}, {r_hi:.1%}]",
                flush=True,
            )
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(f"machine: {machine()}")
    finish(figures)


if __name__ == "__main__":
    main()
