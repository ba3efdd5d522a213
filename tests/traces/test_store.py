"""The trace store: batched writes verified in a real MLflow store, the writer never drops; the
public reads and assessment writes the other steps use instead of MLflow's tracing client."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from costar._exceptions import StoreError
from costar.traces import (
    SpanRecord,
    TraceCache,
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


# -- the public reads and assessment writes every other step uses -----------------------------


def _stored(store_uri: str) -> tuple[TraceStore, str, list[str]]:
    store = TraceStore(store_uri)
    run_id = store.create_run("r", {}, {"costar.kind": "run"})
    records = [trial(run_id, "s1", 0), trial(run_id, "s1", 1)]
    records.append(trial(run_id, "s1", 2, status="error", error="boom"))
    assert store.write(records) == {r.trace_id for r in records}
    return store, run_id, [r.trace_id for r in records]


def test_search_by_tag_and_time_in_either_order(store_uri: str) -> None:
    store, run_id, ids = _stored(store_uri)
    found = list(store.search(tags={"costar.run_id": run_id}))
    assert {i.trace_id for i in found} == set(ids)
    assert list(store.search(tags={"costar.run_id": "another"})) == []
    newest = [i.request_time_ms for i in store.search()]
    assert newest == sorted(newest, reverse=True)
    oldest = list(store.search(oldest_first=True))
    assert [i.request_time_ms for i in oldest] == sorted(newest)
    later = list(store.search(since_ms=oldest[-1].request_time_ms, oldest_first=True))
    assert oldest[-1].trace_id in {i.trace_id for i in later}
    assert all(i.request_time_ms >= oldest[-1].request_time_ms for i in later)
    assert len(list(store.search(limit=2))) == 2
    with pytest.raises(ValueError, match="cannot hold"):
        list(store.search(tags={"costar.run_id": "x' OR '1'='1"}))


def test_infos_by_id_leave_unknown_ids_out_and_carry_state_and_tags(store_uri: str) -> None:
    store, run_id, ids = _stored(store_uri)
    infos = {i.trace_id: i for i in store.infos([*ids, "tr-nothing-here"])}
    assert set(infos) == set(ids)
    assert infos[ids[2]].state == "ERROR" and infos[ids[0]].state == "OK"
    assert infos[ids[0]].tags["costar.run_id"] == run_id
    assert infos[ids[0]].assessments == ()


def test_feedback_and_tags_written_are_read_back(store_uri: str) -> None:
    store, _, ids = _stored(store_uri)
    store.log_feedback(
        ids[0],
        "polite",
        True,
        source_type="HUMAN",
        source_id="ana",
        rationale="kind words",
        metadata={"costar.created_at": "12.5"},
    )
    store.log_feedback(
        ids[0], "facts", None, source_type="CODE", source_id="costar:facts@1", error="boom"
    )
    store.set_trace_tag(ids[0], "costar.labelled", "true")
    (info,) = store.infos([ids[0]])
    by_name = {a.name: a for a in info.assessments}
    human = by_name["polite"]
    assert (human.kind, human.value, human.source_type, human.source_id) == (
        "feedback",
        True,
        "HUMAN",
        "ana",
    )
    assert human.rationale == "kind words" and human.metadata["costar.created_at"] == "12.5"
    assert human.valid and human.created_ms > 0
    assert by_name["facts"].error == "boom" and by_name["facts"].value is None
    assert [i.trace_id for i in store.search(tags={"costar.labelled": "true"})] == [ids[0]]
    with pytest.raises(ValueError, match="unknown assessment source"):
        store.log_feedback(ids[0], "x", 1, source_type="ROBOT", source_id="r")


def test_feedback_on_a_trace_that_does_not_exist_is_a_store_error(store_uri: str) -> None:
    store, _, _ = _stored(store_uri)
    with pytest.raises(StoreError, match="tr-missing"):
        store.log_feedback("tr-missing", "x", True, source_type="CODE", source_id="c")


def test_views_come_in_the_order_asked_and_fill_the_cache(store_uri: str, tmp_path: Path) -> None:
    store, _, ids = _stored(store_uri)
    cache = TraceCache(tmp_path / "cache" / "traces.db")
    try:
        views = store.views([ids[2], "tr-unknown", ids[0], ids[2]], cache)
        assert [v.trace_id for v in views] == [ids[2], ids[0]]
        assert views[0].status == "error" and views[1].tool_calls()[0].name == "lookup"
        assert set(cache.get_many(ids)) == {ids[0], ids[2]}
        # from the cache alone: a store that cannot be reached still gives the cached views
        offline = TraceStore("sqlite:////nonexistent-dir/none/mlflow.db")
        assert [v.trace_id for v in offline.views([ids[0]], cache)] == [ids[0]]
    finally:
        cache.close()
    batches = list(store.experiment_views(limit=2, batch=1))
    assert [len(b) for b in batches] == [1, 1]
