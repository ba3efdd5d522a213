"""Write finished trials to the store in the background, in batches, verified and retried.

One durable path, in order: the store; then a JSON-lines spill file beside it (`--resume` loads
it back); then, if even the spill file cannot be written, the trial is kept in memory and
reported by name (`WriteReport.unsaved`), so the caller can say what was not saved and where,
and exit non-zero. A trial is never dropped silently: every submitted trial ends in exactly one
of `written`, `spilled` or `unsaved`.

A batch that fails twice as a whole is retried one trial at a time, so one trial the store
rejects never takes the rest of its batch down with it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costar._exceptions import StoreError
from costar.traces._model import TrialRecord, Turn
from costar.traces._record import SpanRecord

WriteFn = Callable[[list[TrialRecord]], set[str]]
_STOP = object()
_WHOLE_BATCH_TRIES = 2  # whole-batch failures before trying one trial at a time


@dataclass
class WriteReport:
    """What the writer did: every submitted trial is in exactly one of written/spilled/unsaved."""

    written: list[str] = field(default_factory=list)
    spilled: int = 0
    spill_path: Path | None = None
    last_error: str | None = None
    unsaved: list[TrialRecord] = field(default_factory=list)
    unsaved_error: str | None = None
    seconds: float = 0.0


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return repr(value)


def record_to_json(record: TrialRecord) -> str:
    """A trial as one ASCII JSON line (for the spill file); values JSON cannot hold become repr."""
    return json.dumps(record, default=_plain)


def record_from_json(line: str) -> TrialRecord:
    """Inverse of record_to_json."""
    data: dict[str, Any] = json.loads(line)
    data["turns"] = [Turn(**t) for t in data["turns"]]
    data["spans"] = [SpanRecord(**s) for s in data["spans"]]
    return TrialRecord(**data)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class TraceWriter:
    """A background thread that writes trials with `write_fn` in batches.

    `write_fn(records)` writes a batch and returns the trace ids verified in the store; it is
    injected so tests and other backends can supply their own. A batch is what is queued when
    the writer is free (up to `batch_size`; `max_wait` seconds more to gather one), so the first
    trial is stored at once and the batches grow while the store is busy. `prepare(record)`, if
    given, runs in `submit` on the caller's thread (the store converts the trial there).
    """

    def __init__(
        self,
        write_fn: WriteFn,
        spill_path: Path,
        batch_size: int = 200,
        max_wait: float = 0.0,
        retries: int = 3,
        backoff: float = 0.5,
        redact: Callable[[Any], Any] | None = None,
        prepare: Callable[[TrialRecord], None] | None = None,
    ):
        self._write = write_fn
        self._prepare = prepare  # run by submit, on the caller's thread, not the writer's
        self._redact = redact  # applied to what is spilled: secrets never reach the disk
        self._queue: queue.Queue[Any] = queue.Queue()
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.retries = retries
        self.backoff = backoff
        self.report = WriteReport(spill_path=spill_path)
        self._suspects: set[str] = set()  # trace ids that failed when written alone
        self._thread = threading.Thread(target=self._loop, name="costar-writer", daemon=True)
        self._thread.start()

    def submit(self, record: TrialRecord) -> None:
        """Queue a finished trial for writing (after `prepare`, if given, converted it)."""
        if self._prepare is not None:
            # on failure the writer converts it again, and reports what fails there
            with contextlib.suppress(Exception):
                self._prepare(record)
        self._queue.put(record)

    def close(self) -> WriteReport:
        """Write everything queued, stop the thread and return the report.

        Trials that could be neither written nor spilled get one last try of both here (the
        store or the folder may be back); what still fails stays in `report.unsaved`.
        """
        self._queue.put(_STOP)
        self._thread.join()
        if self.report.unsaved:
            stranded, self.report.unsaved = self.report.unsaved, []
            self._flush(stranded, retries=0)
        return self.report

    def _loop(self) -> None:
        stop = False
        while not stop:
            batch: list[TrialRecord] = []
            item = self._queue.get()  # idle until a trial finishes
            deadline = time.monotonic() + self.max_wait
            while True:
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
                if len(batch) >= self.batch_size:
                    break
                try:  # and what else is queued: the longer a write takes, the bigger the next
                    left = deadline - time.monotonic()
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                try:
                    self._flush(batch, self.retries)
                except Exception as exc:  # a bug here must not kill the thread or lose trials
                    self.report.unsaved.extend(batch)
                    self.report.unsaved_error = _error(exc)

    def _attempt(self, pending: list[TrialRecord], whole: bool) -> set[str] | None:
        """The trace ids that landed; None when the whole batch raised."""
        if whole:
            try:
                return self._write(pending)
            except Exception as exc:  # the store's failure modes are many; all are retried
                self.report.last_error = _error(exc)
                return None
        landed: set[str] = set()
        # trials that already failed alone go last, so they cannot starve the others
        for record in sorted(pending, key=lambda r: r.trace_id in self._suspects):
            try:
                landed |= self._write([record])
            except Exception as exc:
                self.report.last_error = _error(exc)
                self._suspects.add(record.trace_id)
                if not landed and len(self._suspects) >= 2:
                    break  # nothing lands at all: the store is down, not one trial
        return landed

    def _flush(self, batch: list[TrialRecord], retries: int) -> None:
        start = time.monotonic()
        pending = batch
        raised = 0
        for attempt in range(retries + 1):
            landed = self._attempt(pending, whole=raised < _WHOLE_BATCH_TRIES or retries == 0)
            if landed is None:
                raised, landed = raised + 1, set()
            self.report.written.extend(r.trace_id for r in pending if r.trace_id in landed)
            pending = [r for r in pending if r.trace_id not in landed]
            if not pending:
                break
            if attempt < retries:
                time.sleep(self.backoff * (2**attempt))
        if pending:
            self._spill(pending)
        self.report.seconds += time.monotonic() - start

    def _spill_line(self, record: TrialRecord) -> str:
        line = record_to_json(record)
        return line if self._redact is None else json.dumps(self._redact(json.loads(line)))

    def _spill(self, records: list[TrialRecord]) -> None:
        path = self.report.spill_path
        assert path is not None
        try:
            lines = "".join(self._spill_line(r) + "\n" for r in records)
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a", encoding="utf-8") as fh:
                fh.write(lines)
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, ValueError, TypeError) as exc:
            self.report.unsaved.extend(records)
            self.report.unsaved_error = f"cannot write {path}: {_error(exc)}"
            return
        self.report.spilled += len(records)


def load_spill(path: Path) -> list[TrialRecord]:
    """Trials spilled by an earlier writer (empty when the file does not exist)."""
    if not path.is_file():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(record_from_json(line))
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(
                f"{path}:{number}: unreadable spilled trial ({_error(exc)}); "
                "move that line out of the file to resume the rest"
            ) from exc
    return records
