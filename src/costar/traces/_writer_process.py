"""A writer process: a run's writes to a SQL store on the machine's other core.

MLflow's `log_spans` into a SQL store is Python work in its ORM (about 4 ms a trace). Done on a
thread of the run's process it holds the GIL the trial threads need, and a run of 500 short
trials ends long after its last trial. Here a child process owns its own connections to the
store and writes the batches the `TraceWriter` hands it (converting the trials there too); the
run's process only pickles the trials into a pipe and waits for the trace ids that landed, so
the verification, retries and spill file of the `TraceWriter` stay exactly as they are.

Forked, not spawned: the child starts in milliseconds with mlflow already imported (a spawned
one spends 1.5 s importing it, while the trials finish without it). It is forked before the
trial threads start, and leaves the parent's pooled database connections untouched (it never
uses or closes them: SQLAlchemy's recipe for engines across a fork), opening its own.

If the child dies (killed, out of memory) the batch it held and every later one are written in
this process by the store itself, and `died` says so; a batch the store refuses raises in the
parent as it would have in-process, so the `TraceWriter` retries and spills it. Nothing is
lost either way. Ctrl-C reaches the whole process group: the child ignores it and keeps writing
what the run sends it, because the run itself decides what an interruption means.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import signal
import time
import warnings
from multiprocessing.connection import Connection
from typing import Any

from costar._exceptions import StoreError
from costar.traces._model import TrialRecord
from costar.traces._store import TraceStore

_READY_TIMEOUT = 30.0  # a child that does not answer by then is stuck (a lock held at fork)
# a batch is at most 200 traces, about 1 s; a child silent this long is stuck, and is replaced
# by the run's own process (which writes the batch again: the store keeps each trace once)
_BATCH_TIMEOUT = 300.0
_POLL = 0.2
_kept: list[Any] = []  # the parent's connection pools, never closed in the child


class WriterDied(StoreError):
    """The writer process is gone (or never answered)."""


def start_writer_process(store: TraceStore) -> WriterProcess | None:
    """A writer process for `store`, or None where there cannot be one: no fork (Windows), or
    a store that is not a SQL database (an HTTP store's pooled sockets cannot be split)."""
    if "fork" not in multiprocessing.get_all_start_methods():
        return None
    try:
        if not hasattr(store._tracing_client().store, "ManagedSessionMaker"):
            return None
        return WriterProcess(store)
    except (StoreError, OSError):
        return None  # the writer thread writes, and reports what the store says


class WriterProcess:
    """A forked child that stores the batches `write` hands it; `write` is a TraceWriter's
    `write_fn`. Call `close` when the run is written."""

    def __init__(
        self,
        store: TraceStore,
        ready_timeout: float = _READY_TIMEOUT,
        batch_timeout: float = _BATCH_TIMEOUT,
    ):
        self._store = store
        self._ready_timeout = ready_timeout
        self._batch_timeout = batch_timeout
        self.died: str | None = None  # why the child is gone, once it is
        context = multiprocessing.get_context("fork")
        self._conn, child_end = context.Pipe()
        store.experiment_id  # noqa: B018 - the child inherits it instead of asking again
        process = context.Process(
            target=_serve, args=(store, child_end, self._conn), name="costar-writer", daemon=True
        )
        # objects frozen out of the collector's reach: its passes would touch (and so copy)
        # every page the two processes share; unfrozen again in `close`. A host program that
        # froze objects itself owns the collector's permanent generation: left as it is
        self._froze = gc.get_freeze_count() == 0
        if self._froze:
            gc.freeze()
        try:
            with warnings.catch_warnings():
                # Python 3.12+ warns when a process with threads forks; the child only writes
                warnings.simplefilter("ignore", DeprecationWarning)
                process.start()
        except BaseException:
            self._unfreeze()
            self._conn.close()
            child_end.close()
            raise
        child_end.close()
        self._process: Any = process
        self._ready = False

    @property
    def pid(self) -> int | None:
        """The child's process id (None once it is gone)."""
        return None if self.died else self._process.pid

    def write(self, records: list[TrialRecord]) -> set[str]:
        """Store the trials (in the child, or here once it is gone); the ids that landed."""
        if self.died is None:
            try:
                payload = pickle.dumps(records, pickle.HIGHEST_PROTOCOL)
            except Exception:  # a reply object pickle cannot take: stored here, as before
                return self._store.write(records)
            try:
                kind, value = self._ask(payload)
            except WriterDied as exc:
                self._give_up(str(exc))
            else:
                if kind == "error":
                    raise StoreError(value)
                if kind == "ok":
                    landed: set[str] = value
                    return landed
                # "unreadable": the child could not rebuild the batch; stored here
        return self._store.write(records)

    def close(self) -> None:
        """Stop the child (it finishes the batch it holds first) and reap it."""
        if self.died is None:
            self._conn.close()  # the child sees the end of the pipe and exits
            self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process.close()
        self._unfreeze()

    def _unfreeze(self) -> None:
        if self._froze:
            gc.unfreeze()
            self._froze = False

    def _ask(self, payload: bytes) -> Any:
        if not self._ready:
            self._await(time.monotonic() + self._ready_timeout, "start")  # "ready"
            self._ready = True
        try:
            self._conn.send_bytes(payload)
        except (OSError, ValueError) as exc:
            raise WriterDied(self._why_gone(f"cannot reach it: {exc}")) from exc
        return self._await(time.monotonic() + self._batch_timeout, "answer")

    def _await(self, deadline: float, what: str) -> Any:
        try:
            while not self._conn.poll(_POLL):
                if not self._process.is_alive():
                    raise WriterDied(self._why_gone("it ended"))
                if time.monotonic() > deadline:
                    raise WriterDied(f"it did not {what} in time; killed")
            return self._conn.recv()
        except (EOFError, OSError) as exc:
            raise WriterDied(
                self._why_gone(f"the pipe closed: {exc or type(exc).__name__}")
            ) from exc

    def _why_gone(self, fallback: str) -> str:
        self._process.join(timeout=1)
        code = self._process.exitcode
        if code is None:
            return fallback
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def _give_up(self, why: str) -> None:
        pid = self._process.pid
        self.died = (
            f"the writer process (pid {pid}) stopped: {why}; the rest was written in-process"
        )
        if self._process.is_alive():
            self._process.kill()
        self._process.join(timeout=5)
        self._conn.close()


def _serve(store: TraceStore, conn: Connection, parent_end: Connection) -> None:
    """The child: write each batch that arrives, answer with the landed ids, until the pipe
    closes (the run is written, or the parent died)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    parent_end.close()  # or the pipe would never close when the parent dies
    _own_connections(store)
    # open a connection and touch the read path now, while no trial has finished yet (what is
    # wrong with the store, if anything, the first write reports)
    with contextlib.suppress(Exception):
        store.existing_trace_ids(["0"])
    conn.send(("ready", None))
    while True:
        try:
            payload = conn.recv_bytes()
        except (EOFError, OSError):
            return
        reply: tuple[str, Any]
        try:
            records = pickle.loads(payload)  # noqa: S301 - from the parent, through its own pipe
        except Exception as exc:  # a class only the parent can rebuild: it stores this batch
            conn.send(("unreadable", f"{type(exc).__name__}: {exc}"))
            continue
        try:
            reply = ("ok", store.write(records))
        except Exception as exc:  # sent back: the parent's TraceWriter retries and spills
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (OSError, ValueError):
            return


def _own_connections(store: TraceStore) -> None:
    """Give the child's engines fresh connection pools; keep the parent's pools referenced so
    their connections are never closed (or rolled back) from here."""
    engines = {
        id(e): e for e in (store._tracing.store.engine, store.client._tracking_client.store.engine)
    }
    for engine in engines.values():
        _kept.append(engine.pool)
        engine.dispose(close=False)
