"""Re-scoring stored traces: costar's engine against mlflow.genai.evaluate.

10,000 stored traces of 20 spans (--quick: 1,000); 5 checks and 4 metrics. Figures:
- cold: every judge, traces read from the MLflow store (then cached), verdicts written;
- warm: after one judge changed, traces from costar's derived cache, only that judge runs;
- cached: nothing changed, nothing runs;
- anchor: `mlflow.genai.evaluate(data=traces, scorers=...)` with the same 9 functions as
  `@scorer`s, on a subset (1,000; --quick: 200), per trace, with 4 evaluation workers and 1
  scorer worker (its defaults exhaust SQLite's connection pool at this size).
Verdicts are written to costar's verdict store in every pass; mirroring to MLflow is off here
(it costs MLflow's ~4 ms per assessment and runs once per verdict, not per pass).

Usage: .venv/bin/python bench/rescore.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, peak_rss_mb, quick  # noqa: E402

N = 1_000 if quick() else 10_000
ANCHOR = 200 if quick() else 1_000
CHECKS = [
    "output-present",
    "expected-tool-calls",
    "expected-facts",
    "no-repeated-failures",
    "final-state",
]
METRICS = ["total_tokens", "llm_calls", "tool_calls", "latency_s"]
SCENARIO = """
id: s
input: refund order 1042
expectations:
  facts: [refunded]
  tool_calls: [{name: issue_refund, args: {order_id: 1042}}]
  state: [{sql: "select status from orders where id = 1042", rows: [[refunded]]}]
"""


def trial(run_id: str, index: int):
    from costar.traces import SpanRecord, TrialRecord, Turn, new_span_id

    now = time.time_ns()
    root = new_span_id()
    spans = []
    for j in range(17):  # + root + final_state + issue_refund = 20 spans
        llm = j % 3 == 0
        spans.append(
            SpanRecord(
                name="chat" if llm else f"lookup_{j}",
                span_type="CHAT_MODEL" if llm else "TOOL",
                inputs={"q": "x" * 40, "order_id": j},
                outputs={"result": "y" * 150},
                attributes={
                    "mlflow.chat.tokenUsage": {
                        "input_tokens": 100,
                        "output_tokens": 20,
                        "total_tokens": 120,
                    }
                }
                if llm
                else {},
                start_ns=now + j * 1000,
                end_ns=now + j * 1000 + 500,
                parent_id=root,
            )
        )
    spans.append(
        SpanRecord(
            name="issue_refund",
            span_type="TOOL",
            inputs={"order_id": 1042},
            outputs={"ok": True},
            start_ns=now + 90_000,
            end_ns=now + 91_000,
            parent_id=root,
        )
    )
    status = "refunded" if index % 4 else "delivered"  # a quarter fail final-state
    snapshot = {
        "version": 1,
        "files": [],
        "sqlite": {
            "shop.db": {
                "tables": {
                    "orders": {
                        "schema": "CREATE TABLE orders (id INTEGER, status TEXT)",
                        "columns": [["id", "INTEGER"], ["status", "TEXT"]],
                        "row_count": 1,
                        "hash": "h",
                        "rows": [[1042, status]],
                    }
                }
            }
        },
    }
    return TrialRecord(
        run_id=run_id,
        scenario_id="s",
        trial=index,
        status="ok",
        turns=[Turn(user="refund order 1042", reply="Your order is refunded.")],
        start_ns=now,
        end_ns=now + 10**6,
        spans=spans,
        root_span_id=root,
        snapshot=snapshot,
    )


def write_judges(root: Path, budget: int) -> None:
    lines = ["defaults: false", "judges:"]
    lines += [
        f"  - {{use: {c if c != 'no-repeated-failures' else 'tool-sequence'}, name: {c}}}"
        for c in CHECKS
    ]
    lines += [
        f"  - {{use: metric, name: 'metric:{m}', params: {{name: {m}"
        + (f", budget: {budget}" if m == "total_tokens" else "")
        + "}}"
        for m in METRICS
    ]
    (root / "judges").mkdir(exist_ok=True)
    (root / "judges" / "bench.yaml").write_text("\n".join(lines) + "\n")


def anchor(store, judges, scenario, ids: list[str]) -> float:
    import os

    # evaluate's defaults (10 trace workers x 10 scorer workers) exhaust SQLite's connection
    # pool at 1,000 traces here; 4 x 1 completes and is no slower on 2 cores
    os.environ.setdefault("MLFLOW_GENAI_EVAL_MAX_WORKERS", "4")
    os.environ.setdefault("MLFLOW_GENAI_EVAL_MAX_SCORER_WORKERS", "1")
    import mlflow
    from mlflow.genai.scorers import scorer

    from costar.judges import TraceView

    def wrap(j):
        @scorer(name=j.name)
        def run(trace):
            verdict = j.score(TraceView.from_mlflow(trace), scenario)
            return verdict.passed if verdict.passed is not None else verdict.value

        return run

    traces = store.get_traces(ids)
    mlflow.set_tracking_uri(store.tracking_uri)
    mlflow.set_experiment(experiment_id=store.experiment_id)
    start = time.perf_counter()
    mlflow.genai.evaluate(data=traces, scorers=[wrap(j) for j in judges])
    return (time.perf_counter() - start) / len(ids) * 1000


def setup(root: Path, n: int) -> str:
    """Write the stored traces (run in a child process, so peak RSS measures assess alone)."""
    from costar.traces import TraceStore, quiet_mlflow

    (root / "suite").mkdir()
    (root / "suite" / "s.yaml").write_text(SCENARIO)
    write_judges(root, budget=100_000)
    store = TraceStore(f"sqlite:///{root / '.costar' / 'mlflow.db'}")
    quiet_mlflow()
    run_id = store.create_run("bench", {"suite": str(root / "suite")}, {"costar.kind": "run"})
    for start in range(0, n, 500):
        store.write([trial(run_id, i) for i in range(start, min(n, start + 500))])
    return run_id


def main() -> None:
    import subprocess

    from costar.assess import AssessConfig, assess
    from costar.judges import load_judges
    from costar.scenarios import load_suite
    from costar.traces import TraceStore, quiet_mlflow

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"writing {N} traces ...", flush=True)
        run_id = (
            subprocess.run(
                [sys.executable, __file__, "--setup", str(root), str(N)],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        uri = f"sqlite:///{root / '.costar' / 'mlflow.db'}"
        store = TraceStore(uri)
        quiet_mlflow()
        config = AssessConfig(root=root, tracking_uri=uri, run_ids=[run_id], mirror=False)

        t = time.perf_counter()
        cold = assess(config)
        cold_ms = (time.perf_counter() - t) / N * 1000
        write_judges(root, budget=1_000)  # one judge changed
        t = time.perf_counter()
        warm = assess(config)
        warm_ms = (time.perf_counter() - t) / N * 1000
        t = time.perf_counter()
        cached = assess(config)
        cached_ms = (time.perf_counter() - t) / N * 1000
        assert (cold.scored, warm.scored, cached.scored) == (9 * N, N, 0)
        rss = peak_rss_mb()

        judges = load_judges(root, ["judges"])
        scenario = load_suite(root / "suite").get("s").scenario
        ids = [r.trace_id for r in store.run_traces(run_id)][:ANCHOR]
        anchor_ms = anchor(store, judges, scenario, ids)
    print(f"machine: {machine()}")
    print(f"{N} traces x 20 spans, {len(CHECKS)} checks + {len(METRICS)} metrics")
    print(
        f"cold (from MLflow): {cold_ms:.2f} ms/trace; warm (one judge changed, from cache): "
        f"{warm_ms:.3f} ms/trace; cached: {cached_ms:.4f} ms/trace; peak RSS {rss} MB"
    )
    print(f"mlflow.genai.evaluate, same functions, {ANCHOR} traces: {anchor_ms:.1f} ms/trace")
    finish(
        {
            "bench": "rescore",
            "traces": N,
            "ms_per_trace": round(warm_ms, 3),
            "cold_ms_per_trace": round(cold_ms, 3),
            "cached_ms_per_trace": round(cached_ms, 4),
            "anchor_ms_per_trace": round(anchor_ms, 2),
            "ratio_vs_anchor": round(anchor_ms / warm_ms, 1),
            "peak_rss_mb": rss,
        }
    )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--setup"]:
        print(setup(Path(sys.argv[2]), int(sys.argv[3])))
    else:
        main()
