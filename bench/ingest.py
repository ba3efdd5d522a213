"""Ingest: traces of 20 spans into the default SQLite store, costar's writer vs MLflow's exporter.

costar: TrialRecords go through TraceWriter -> TraceStore.write (one `log_spans` per batch,
verified by reading the trace ids back). Anchor, in the same run: MLflow's own path,
`mlflow.start_span` with asynchronous trace logging and a queue large enough to keep every
trace, timed until `flush_trace_async_logging` returns. The anchor costs 100+ ms per trace, so
it is measured on a subset (ANCHOR traces) and compared per trace.

Usage: .venv/bin/python bench/ingest.py [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

N = 200 if quick() else 1000
ANCHOR = 40 if quick() else 150
SPANS = 20


def make_trial(run_id: str, index: int):
    from costar.traces import SpanRecord, TrialRecord, Turn, new_span_id

    now = time.time_ns()
    root = new_span_id()
    spans = []
    for j in range(SPANS - 2):  # + root + final_state = SPANS
        kind = "CHAT_MODEL" if j % 3 == 0 else "TOOL"
        attrs = (
            {
                "mlflow.chat.tokenUsage": {
                    "input_tokens": 100,
                    "output_tokens": 20,
                    "total_tokens": 120,
                }
            }
            if kind == "CHAT_MODEL"
            else {}
        )
        spans.append(
            SpanRecord(
                name=f"step-{j}",
                span_type=kind,
                inputs={"arg": j, "q": "x" * 50},
                outputs={"result": "y" * 200},
                attributes=attrs,
                start_ns=now + j * 1000,
                end_ns=now + j * 1000 + 500,
                parent_id=root,
            )
        )
    return TrialRecord(
        run_id=run_id,
        scenario_id=f"s{index % 50}",
        trial=index // 50,
        status="ok",
        turns=[Turn(user="question " * 10, reply="answer " * 20)],
        start_ns=now,
        end_ns=now + 10**6,
        spans=spans,
        root_span_id=root,
        snapshot={
            "version": 1,
            "files": [{"path": "a.txt", "size": 3, "sha256": "0" * 64}],
            "sqlite": {},
        },
    )


def bench_costar(folder: Path) -> tuple[float, int]:
    from costar.traces import TraceStore, TraceWriter

    store = TraceStore(f"sqlite:///{folder / 'mlflow.db'}")
    run_id = store.create_run("bench", {}, {"costar.kind": "run"})
    records = [make_trial(run_id, i) for i in range(N)]
    start = time.perf_counter()
    writer = TraceWriter(store.write, folder / "spill.jsonl", batch_size=500)
    for record in records:
        writer.submit(record)
    report = writer.close()
    elapsed = time.perf_counter() - start
    stored = len(store.run_traces(run_id))
    assert len(report.written) == stored
    return elapsed / N * 1000, N - stored


def bench_mlflow(folder: Path) -> tuple[float, int]:
    import os

    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "true"
    os.environ["MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE"] = str(ANCHOR * 10)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{folder / 'anchor.db'}")
    # an explicit artifact location keeps MLflow from writing ./mlruns into the working directory
    mlflow.create_experiment("anchor", artifact_location=(folder / "artifacts").as_uri())
    experiment = mlflow.set_experiment("anchor")
    start = time.perf_counter()
    for i in range(ANCHOR):
        with mlflow.start_span(name=f"s{i}", span_type="AGENT") as root:
            root.set_inputs({"q": "question " * 10})
            for j in range(SPANS - 1):
                with mlflow.start_span(name=f"step-{j}", span_type="TOOL") as span:
                    span.set_inputs({"arg": j, "q": "x" * 50})
                    span.set_outputs({"result": "y" * 200})
            root.set_outputs("answer " * 20)
    mlflow.flush_trace_async_logging()
    elapsed = time.perf_counter() - start
    stored = len(
        mlflow.search_traces(
            locations=[experiment.experiment_id], max_results=ANCHOR * 2, return_type="list"
        )
    )
    return elapsed / ANCHOR * 1000, ANCHOR - stored


def main() -> None:
    from costar.traces import quiet_mlflow

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # open both stores first so migrations are not timed
        from costar.traces import TraceStore

        TraceStore(f"sqlite:///{folder / 'mlflow.db'}").experiment_id  # noqa: B018
        quiet_mlflow()
        ms, lost = bench_costar(folder)
        anchor_ms, anchor_lost = bench_mlflow(folder)
    print(f"machine: {machine()}")
    print(f"costar writer: {N} traces x {SPANS} spans: {ms:.2f} ms per trace, {lost} lost")
    print(
        f"mlflow exporter: {ANCHOR} traces x {SPANS} spans: {anchor_ms:.1f} ms per trace, "
        f"{anchor_lost} lost"
    )
    finish(
        {
            "bench": "ingest",
            "traces": N,
            "spans_per_trace": SPANS,
            "ms_per_trace": round(ms, 2),
            "lost": lost,
            "anchor_ms_per_trace": round(anchor_ms, 1),
            "anchor_lost": anchor_lost,
            "ratio_vs_anchor": round(anchor_ms / ms, 1),
        }
    )


if __name__ == "__main__":
    main()
