"""Harness overhead: trials of an I/O-bound agent (sleeps 200 ms) at concurrency 50.

Prints the run's wall time over the ideal (trials x 0.2 s / concurrency), and over MLflow's own
write floor: `log_spans` alone on the same traces, measured in the same run. The wall time is
`run_suite` from start to summary: suite loading, workspaces, the trials, snapshots and every
trace written and verified in the store (the store is migrated before timing starts).

Usage: .venv/bin/python bench/harness.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

TRIALS = 100 if quick() else 500
CONCURRENCY = 50
SLEEP = 0.2

AGENT = """
import time
def agent(ctx):
    time.sleep(0.2)
    return "done"
"""


def main() -> None:
    from costar.harness import RunConfig, run_suite
    from costar.traces import TraceStore, quiet_mlflow

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "bench_agent.py").write_text(AGENT)
        suite = root / "scenarios"
        suite.mkdir()
        scenarios = 50
        for i in range(scenarios):
            (suite / f"s{i}.yaml").write_text(f"id: s{i}\ninput: question {i}\n")
        uri = f"sqlite:///{root / '.costar' / 'mlflow.db'}"
        TraceStore(uri).experiment_id  # noqa: B018 - migrate before timing
        quiet_mlflow()
        config = RunConfig(
            root=root,
            suite=suite,
            agent="bench_agent:agent",
            trials=TRIALS // scenarios,
            concurrency=CONCURRENCY,
            timeout=30,
            tracking_uri=uri,
        )
        marks: dict[str, float] = {}
        records: list = []

        def progress(done: int, total: int, record: object) -> None:
            records.append(record)
            if done == total:
                marks["trials_done"] = time.perf_counter()

        start = time.perf_counter()
        summary = run_suite(config, progress=progress)
        wall = time.perf_counter() - start
        trials_phase = marks["trials_done"] - start
        floor = _log_spans_floor(root, records)
    ideal = TRIALS * SLEEP / CONCURRENCY
    print(f"machine: {machine()}")
    print(
        f"{TRIALS} trials, concurrency {CONCURRENCY}: wall {wall:.2f} s, ideal {ideal:.2f} s, "
        f"{summary.written} traces written, {summary.ok} ok"
    )
    print(
        f"MLflow's own log_spans of the same traces (batches of 200, into a fresh store of the "
        f"same kind, conversion untimed): {floor:.2f} s; wall over that floor "
        f"{wall / max(floor, ideal):.2f} x (the floor, or the ideal when it is higher)"
    )
    print(
        f"last trial finished at {trials_phase:.2f} s ({trials_phase / ideal:.2f} x ideal); "
        f"the rest is the writer storing the remaining traces"
    )
    finish(
        {
            "bench": "harness",
            "trials": TRIALS,
            "concurrency": CONCURRENCY,
            "wall_seconds": round(wall, 2),
            "ideal_seconds": ideal,
            "wall_over_ideal": round(wall / ideal, 2),
            "log_spans_floor_seconds": round(floor, 2),
            "wall_over_floor": round(wall / max(floor, ideal), 2),
            "trials_done_over_ideal": round(trials_phase / ideal, 2),
            "written": summary.written,
            "lost": TRIALS - summary.written,
        }
    )


def _log_spans_floor(root: Path, records: list) -> float:
    """Seconds MLflow's `log_spans` alone takes for the same trials (new trace ids, a fresh
    migrated store beside the run's), in the writer's batch size."""
    import dataclasses

    from costar.traces import TraceStore
    from costar.traces._convert import to_mlflow_spans
    from costar.traces._model import new_trace_id

    store = TraceStore(f"sqlite:///{root / 'floor' / 'mlflow.db'}")
    experiment = store.experiment_id  # migrated before timing
    batches = []
    for start in range(0, len(records), 200):
        chunk = [
            dataclasses.replace(r, trace_id=new_trace_id()) for r in records[start : start + 200]
        ]
        batches.append([s for r in chunk for s in to_mlflow_spans(r, store.redactor)])
    began = time.perf_counter()
    for spans in batches:
        store._tracing.log_spans(experiment, spans)
    return time.perf_counter() - began


if __name__ == "__main__":
    main()
