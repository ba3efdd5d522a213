"""Scale-out: the same run of a fast agent on local threads, then on Ray with 1 and 2 workers,
into an `mlflow server` whose backend store is PostgreSQL (all started here, on 127.0.0.1).

Prints per executor: trials per second, ms per trace written (the run's writer's time over
traces; on Ray the writer hands its batches to writer actors and waits for them), lost and
duplicated trials (from the server's store); then a projection for N machines from one
worker's measured time per trial and the measured write rate, stated as a projection.

Usage: .venv/bin/python bench/scale.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from _common import finish, machine, quick  # noqa: E402

SCENARIOS, TRIALS = (10, 10) if quick() else (50, 20)
AGENT = "def agent(ctx):\n    return f'answer {ctx.input}'\n"


def _run(
    root: Path, uri: str, executor: str, address: str | None, workers: int
) -> dict[str, float]:
    from costar.harness import RunConfig, run_suite
    from costar.traces import TraceStore

    config = RunConfig(
        root=root,
        suite=root / "scenarios",
        agent="fast_agent:agent",
        trials=TRIALS,
        concurrency=4,
        tracking_uri=uri,
        experiment="bench-scale",
        executor=executor,
        address=address,
    )
    marks: dict[str, float] = {}

    def progress(done: int, total: int, record: object) -> None:
        if done == total:
            marks["trials_done"] = time.perf_counter()

    start = time.perf_counter()
    summary = run_suite(config, progress=progress)
    wall = time.perf_counter() - start
    trials_phase = marks.get("trials_done", start + wall) - start
    counts = Counter(
        (r.scenario_id, r.trial) for r in TraceStore(uri, "bench-scale").run_traces(summary.run_id)
    )
    planned = SCENARIOS * TRIALS
    return {
        "wall_seconds": round(wall, 2),
        "trials_per_second": round(planned / wall, 1),
        "trials_done_seconds": round(trials_phase, 2),
        "ms_per_trial_on_workers": round(1000 * trials_phase * workers / planned, 2),
        "ms_per_trace_written": round(1000 * summary.write_seconds / max(1, summary.written), 2),
        "lost": planned - len(counts),
        "duplicated": sum(counts.values()) - len(counts),
    }


def main() -> None:
    from _scale import create_database, mlflow_on_postgres, postgres_server, ray_cluster
    from costar.traces import TraceStore, quiet_mlflow

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as base:
        root = Path(tmp)
        (root / "fast_agent.py").write_text(AGENT)
        (root / "scenarios").mkdir()
        for i in range(SCENARIOS):
            (root / "scenarios" / f"s{i}.yaml").write_text(f"id: s{i}\ninput: q{i}\n")
        with mlflow_on_postgres(create_database(base, "mlflow"), root / "artifacts") as uri:
            TraceStore(uri, "bench-scale").experiment_id  # noqa: B018 - before timing
            quiet_mlflow()
            results["local"] = _run(root, uri, "local", None, 1)
            for workers in (1, 2):
                with ray_cluster(cpus=workers) as address:
                    results[f"ray_{workers}"] = _run(root, uri, "ray", address, workers)
    one, two = results["ray_1"], results["ray_2"]
    per_trial = one["ms_per_trial_on_workers"]  # one worker's time per trial, all overheads
    writer = 1000 / max(0.01, two["ms_per_trace_written"])
    print(f"machine: {machine()}; {SCENARIOS * TRIALS} trials of an agent that answers at once")
    for name, r in results.items():
        print(
            f"{name:8} {r['trials_per_second']:7.1f} trials/s  wall {r['wall_seconds']:6.1f} s  "
            f"last trial at {r['trials_done_seconds']:6.1f} s  "
            f"{r['ms_per_trace_written']:6.2f} ms/trace written  lost {r['lost']}  "
            f"duplicated {r['duplicated']}"
        )
    print(
        f"ray 2 workers over 1: {two['trials_per_second'] / one['trials_per_second']:.2f}x "
        "(each run ends when its last trace is stored and verified)"
    )
    print(
        "projection (not measured): N machines of k workers run the trials at about "
        f"N x k x {1000 / per_trial:.0f} trials/s of this agent ({per_trial:.1f} ms of worker "
        f"time per trial, measured on 1 worker), and the run stores them at about {writer:.0f} "
        "traces/s (measured on 2 workers: writer actors into this one MLflow server, whose "
        "own capacity bounds it): the lower of the two is the run's rate; an agent of T "
        "seconds adds T to each trial's worker time"
    )
    finish(
        {
            "bench": "scale",
            "trials": SCENARIOS * TRIALS,
            **{f"{k}_{m}": v for k, r in results.items() for m, v in r.items()},
            "ray2_over_ray1": round(two["trials_per_second"] / one["trials_per_second"], 2),
            "ray1_over_local": round(
                one["trials_per_second"] / results["local"]["trials_per_second"], 2
            ),
            "projected_writer_cap_trials_per_second": round(writer, 1),
        }
    )


if __name__ == "__main__":
    main()
