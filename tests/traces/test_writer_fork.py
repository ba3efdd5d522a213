"""WriterProcess against a real SQLite store: batches stored by a forked child, what the store
refuses raised in the parent (so the TraceWriter retries and spills it), and a killed child's
batches stored by the parent, each trace exactly once."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from costar.traces import (
    SpanRecord,
    TraceStore,
    TraceWriter,
    TrialRecord,
    Turn,
    WriterProcess,
    load_spill,
    new_span_id,
    start_writer_process,
)

pytestmark = pytest.mark.slow  # forked writer processes, killed and stopped by pid


def trials(n: int, run_id: str = "r") -> list[TrialRecord]:
    out = []
    for i in range(n):
        record = TrialRecord(run_id, f"s{i % 7}", i, "ok", [Turn(user="hi", reply="yo")], 1, 2)
        record.root_span_id = new_span_id()
        record.spans = [SpanRecord(name="tool", inputs={"q": "bad \ud800 text"}, outputs=i)]
        out.append(record)
    return out


def stored(store: TraceStore, records: list[TrialRecord]) -> set[str]:
    return {info.trace_id for info in store.infos(r.trace_id for r in records)}


def writer(store: TraceStore) -> WriterProcess:
    process = start_writer_process(store)
    assert process is not None, "a SQLite store on Linux gets a writer process"
    return process


def test_batches_are_stored_by_another_process(store_uri: str) -> None:
    store = TraceStore(store_uri)
    process = writer(store)
    try:
        assert process.pid not in (None, os.getpid())
        first, second = trials(30), trials(5)
        assert process.write(first) == {r.trace_id for r in first}
        assert process.write(second) == {r.trace_id for r in second}
    finally:
        process.close()
    assert process.died is None
    assert stored(store, first + second) == {r.trace_id for r in first + second}
    (trace,) = store.get_traces([first[3].trace_id])  # the whole trace, text escaped as ever
    tool = next(s for s in trace.data.spans if s.name == "tool")
    assert tool.inputs == {"q": "bad \\ud800 text"} and tool.outputs == 3


def test_a_trial_the_store_refuses_in_the_child_is_spilled_and_the_rest_land(
    store_uri: str, tmp_path: Path
) -> None:
    store = TraceStore(store_uri)
    process = writer(store)
    records = trials(4)
    records[1].trace_id = "tr-not-a-hex-trace-id"  # the store cannot convert this one
    spill = tmp_path / "spill.jsonl"
    try:
        trace_writer = TraceWriter(process.write, spill, backoff=0.01)
        for record in records:
            trace_writer.submit(record)
        report = trace_writer.close()
    finally:
        process.close()
    assert process.died is None  # a refusal is not a crash: the child kept writing
    assert sorted(report.written) == sorted(r.trace_id for i, r in enumerate(records) if i != 1)
    assert report.spilled == 1 and not report.unsaved
    assert [r.trace_id for r in load_spill(spill)] == [records[1].trace_id]


def test_a_child_killed_before_its_first_batch_leaves_the_writing_to_the_parent(
    store_uri: str,
) -> None:
    store = TraceStore(store_uri)
    process = writer(store)
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    records = trials(10)
    try:
        assert process.write(records) == {r.trace_id for r in records}
        later = trials(3)
        assert process.write(later) == {r.trace_id for r in later}
    finally:
        process.close()
    assert process.died is not None and f"pid {pid}" in process.died
    assert "signal 9" in process.died and process.pid is None
    assert stored(store, records + later) == {r.trace_id for r in records + later}


def test_a_child_killed_while_it_writes_a_batch_loses_none_and_doubles_none(
    store_uri: str,
) -> None:
    store = TraceStore(store_uri)
    process = writer(store)
    records = trials(300, run_id=store.create_run("r", {}, {}))
    landed: list[set[str]] = []
    writing = threading.Thread(target=lambda: landed.append(process.write(records)))
    pid = process.pid
    assert pid is not None
    writing.start()
    threading.Event().wait(0.3)  # somewhere in the batch (or after it: the result is the same)
    os.kill(pid, signal.SIGKILL)
    writing.join()
    process.close()
    assert process.died is not None, "the batch ended before the kill: make it bigger"
    assert landed == [{r.trace_id for r in records}]
    ids = [row.trace_id for row in store.run_traces(records[0].run_id)]
    assert sorted(ids) == sorted(r.trace_id for r in records)  # each trace once, all linked


class Late:
    """A reply class the child cannot rebuild: it is bound into this module after the fork."""


def test_replies_the_pipe_cannot_carry_are_stored_by_the_parent(store_uri: str) -> None:
    global Late
    store = TraceStore(store_uri)
    born_before = Late
    del globals()["Late"]  # the child is forked without it
    try:
        process = writer(store)
    finally:
        Late = born_before  # the parent pickles Late by name; the child cannot find it
    unpicklable, unreadable, plain = trials(3)
    unpicklable.turns[0].reply = threading.Lock()  # pickle refuses it
    unreadable.turns[0].reply = Late()
    try:
        for record in (unpicklable, unreadable, plain):
            assert process.write([record]) == {record.trace_id}
    finally:
        process.close()
    assert process.died is None  # neither batch cost the child its life
    assert stored(store, [unpicklable, unreadable, plain]) == {
        r.trace_id for r in (unpicklable, unreadable, plain)
    }


def test_a_child_that_stops_answering_is_killed_and_replaced_by_the_parent(
    store_uri: str,
) -> None:
    store = TraceStore(store_uri)
    process = WriterProcess(store, ready_timeout=2, batch_timeout=2)  # short, for the test
    pid = process.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # alive, but stuck (as a lock held at the fork would leave it)
    records = trials(5)
    try:
        assert process.write(records) == {r.trace_id for r in records}
    finally:
        process.close()
    assert process.died is not None and "in time; killed" in process.died
    assert stored(store, records) == {r.trace_id for r in records}
