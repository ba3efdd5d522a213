"""The trace store: batched writes verified in a real MLflow store; the writer never drops."""

from __future__ import annotations

import time
from pathlib import Path

from costar.traces import (
    SpanRecord,
    TraceStore,
    TraceWriter,
    TrialRecord,
    Turn,
    load_spill,
    new_span_id,
)
from costar.traces._redact import MARKER, Redactor


def trial(run_id: str, scenario: str, index: int, status: str = "ok", **extra) -> TrialRecord:
    now = time.time_ns()
    root = new_span_id()
    return TrialRecord(
        run_id=run_id,
        scenario_id=scenario,
        trial=index,
        status=status,  # type: ignore[arg-type]
        turns=[Turn(user="hi", reply="hello", start_ns=now, end_ns=now + 1000)],
        start_ns=now,
        end_ns=now + 5_000_000,
        root_span_id=root,
        spans=[
            SpanRecord(
                name="lookup",
                span_type="TOOL",
                inputs={"id": 1},
                outputs={"ok": True},
                start_ns=now,
                end_ns=now + 10,
                parent_id=root,
            ),
            SpanRecord(
                name="chat",
                span_type="CHAT_MODEL",
                inputs=[{"role": "user"}],
                outputs="x",
                start_ns=now,
                end_ns=now + 10,
                parent_id=root,
                attributes={
                    "mlflow.chat.tokenUsage": {
                        "input_tokens": 10,
                        "output_tokens": 5,
                        "total_tokens": 15,
                    }
                },
            ),
            SpanRecord(
                name="broken",
                span_type="TOOL",
                error="ValueError: bad id",
                start_ns=now,
                end_ns=now + 10,
                parent_id=root,
            ),
        ],
        snapshot={"version": 1, "files": [], "sqlite": {}},
        **extra,
    )


def test_batch_lands_with_spans_tags_usage_and_snapshot(store_uri: str) -> None:
    store = TraceStore(store_uri)
    run_id = store.create_run("r", {"trials": 2}, {"costar.kind": "run"})
    records = [trial(run_id, "s1", 0), trial(run_id, "s1", 1, status="error", error="boom")]
    store.prepare(records[1])  # converted ahead (as the run does), the other one in write
    landed = store.write(records)
    assert landed == {r.trace_id for r in records}
    rows = sorted(store.run_traces(run_id), key=lambda r: r.trial)
    assert [(r.scenario_id, r.trial, r.status) for r in rows] == [
        ("s1", 0, "ok"),
        ("s1", 1, "error"),
    ]

    (full,) = store.get_traces([records[1].trace_id])
    assert full.info.state.value == "ERROR"
    assert full.info.tags["costar.run_id"] == run_id
    spans = {s.name: s for s in full.data.spans}
    assert set(spans) == {"s1", "turn-1", "lookup", "chat", "broken", "final_state"}
    assert spans["lookup"].inputs == {"id": 1} and spans["lookup"].outputs == {"ok": True}
    assert spans["broken"].status.status_code.value == "ERROR"
    assert spans["broken"].events[0].attributes["exception.message"] == "bad id"
    assert spans["final_state"].outputs["version"] == 1
    assert full.info.token_usage["total_tokens"] == 15
    assert spans["s1"].parent_id is None and spans["chat"].parent_id == spans["s1"].span_id


def test_runs_are_listed_and_found_by_prefix(store_uri: str) -> None:
    store = TraceStore(store_uri)
    first = store.create_run("a", {"agent": "x:y"}, {"costar.kind": "run"})
    second = store.create_run("b", {}, {"costar.kind": "run"})
    store.finish_run(first, "FINISHED", {"trials_ok": 3})
    assert {r.run_id for r in store.list_runs()} == {first, second}
    found = store.get_run(first[:10])
    assert found.params["agent"] == "x:y" and found.metrics["trials_ok"] == 3
    assert found.status == "FINISHED"


def test_writer_retries_until_the_batch_lands(tmp_path: Path) -> None:
    calls: list[int] = []

    def flaky(records: list[TrialRecord]) -> set[str]:
        calls.append(len(records))
        if len(calls) == 1:
            raise OSError("database is locked")
        if len(calls) == 2:  # half the batch lands
            return {records[0].trace_id}
        return {r.trace_id for r in records}

    # max_wait: the four submits make one batch (by default the writer takes what is queued)
    writer = TraceWriter(flaky, tmp_path / "spill.jsonl", backoff=0.01, max_wait=2.0)
    records = [trial("r", "s", i) for i in range(4)]
    for r in records:
        writer.submit(r)
    report = writer.close()
    assert sorted(report.written) == sorted(r.trace_id for r in records)
    assert calls == [4, 4, 3]  # the retry sends only what did not land
    assert report.spilled == 0 and not (tmp_path / "spill.jsonl").exists()


def test_a_trial_whose_conversion_ahead_fails_is_still_written(tmp_path: Path) -> None:
    written: list[str] = []

    def prepare(record: TrialRecord) -> None:
        raise ValueError("cannot convert")

    def write(records: list[TrialRecord]) -> set[str]:
        written.extend(r.trace_id for r in records)
        return {r.trace_id for r in records}

    writer = TraceWriter(write, tmp_path / "spill.jsonl", prepare=prepare)
    record = trial("r", "s", 0)
    writer.submit(record)
    assert writer.close().written == [record.trace_id] == written


def test_writer_spills_what_never_lands_and_it_loads_back(tmp_path: Path) -> None:
    def broken(records: list[TrialRecord]) -> set[str]:
        raise ConnectionError("store unreachable")

    spill = tmp_path / "unsaved" / "run.jsonl"
    writer = TraceWriter(broken, spill, retries=1, backoff=0.01)
    records = [trial("r", "s", i) for i in range(3)]
    for r in records:
        writer.submit(r)
    report = writer.close()
    assert report.written == [] and report.spilled == 3
    assert "store unreachable" in (report.last_error or "")
    back = load_spill(spill)
    assert [r.trace_id for r in back] == [r.trace_id for r in records]
    assert back[0].spans[1].attributes["mlflow.chat.tokenUsage"]["total_tokens"] == 15
    assert back[0].turns[0].reply == "hello"


def test_a_spilled_trial_holds_no_secret(tmp_path: Path) -> None:
    """Trials the store cannot take are spilled to disk redacted, as the store would have
    stored them, and still load back for --resume."""

    def broken(records: list[TrialRecord]) -> set[str]:
        raise ConnectionError("store unreachable")

    token = "Bearer abcdefghijklmnopqrstuvwxyz0123456789"
    spill = tmp_path / "unsaved" / "run.jsonl"
    writer = TraceWriter(broken, spill, retries=1, backoff=0.01, redact=Redactor().value)
    record = trial("r", "s", 0)
    record.turns[0].reply = f"calling with Authorization: {token}"
    record.spans[1].inputs = {"headers": {"Authorization": token}}
    writer.submit(record)
    assert writer.close().spilled == 1
    assert b"abcdefghijklmnopqrstuvwxyz" not in spill.read_bytes()
    (back,) = load_spill(spill)
    assert back.trace_id == record.trace_id and MARKER in back.turns[0].reply
