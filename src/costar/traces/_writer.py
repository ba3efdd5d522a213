"""Write finished trials to the store in the background, in batches, verified and retried.

A batch whose traces do not all land is retried (only the missing ones); a trial that still
fails is spilled to a JSON-lines file beside the store and reported, never dropped. `--resume`
loads spilled trials back into the store before running anything.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from costar.traces._model import TrialRecord, Turn
from costar.traces._record import SpanRecord

WriteFn = Callable[[list[TrialRecord]], set[str]]
_STOP = object()


@dataclass
class WriteReport:
    """What the writer did: trace ids that landed, trials spilled to disk, the last error."""

    written: list[str] = field(default_factory=list)
    spilled: int = 0
    spill_path: Path | None = None
    last_error: str | None = None
    seconds: float = 0.0


def record_to_json(record: TrialRecord) -> str:
    """A trial as one JSON line (for the spill file)."""
    return json.dumps(asdict(record), default=repr)


def record_from_json(line: str) -> TrialRecord:
    """Inverse of record_to_json."""
    data: dict[str, Any] = json.loads(line)
    data["turns"] = [Turn(**t) for t in data["turns"]]
    data["spans"] = [SpanRecord(**s) for s in data["spans"]]
    return TrialRecord(**data)


class TraceWriter:
    """A background thread that writes trials with `write_fn` in batches.

    `write_fn(records)` writes a batch and returns the trace ids verified in the store; it is
    injected so tests and other backends can supply their own.
    """

    def __init__(
        self,
        write_fn: WriteFn,
        spill_path: Path,
        batch_size: int = 200,
        max_wait: float = 0.5,
        retries: int = 3,
        backoff: float = 0.5,
    ):
        self._write = write_fn
        self._queue: queue.Queue[Any] = queue.Queue()
        self.batch_size = batch_size
        self.max_wait = max_wait
        self.retries = retries
        self.backoff = backoff
        self.report = WriteReport(spill_path=spill_path)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="costar-writer", daemon=True)
        self._thread.start()

    def submit(self, record: TrialRecord) -> None:
        """Queue a finished trial for writing."""
        self._queue.put(record)

    def close(self) -> WriteReport:
        """Write everything queued, stop the thread and return the report."""
        self._queue.put(_STOP)
        self._thread.join()
        return self.report

    def _loop(self) -> None:
        stop = False
        while not stop:
            batch: list[TrialRecord] = []
            deadline = time.monotonic() + self.max_wait
            while len(batch) < self.batch_size:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            if batch:
                self._flush(batch)

    def _flush(self, batch: list[TrialRecord]) -> None:
        start = time.monotonic()
        pending = batch
        for attempt in range(self.retries + 1):
            try:
                landed = self._write(pending)
            except Exception as exc:  # the store's failure modes are many; all are retried
                landed = set()
                self.report.last_error = f"{type(exc).__name__}: {exc}"
            self.report.written.extend(r.trace_id for r in pending if r.trace_id in landed)
            pending = [r for r in pending if r.trace_id not in landed]
            if not pending:
                break
            if attempt < self.retries:
                time.sleep(self.backoff * (2**attempt))
        if pending:
            self._spill(pending)
        self.report.seconds += time.monotonic() - start

    def _spill(self, records: list[TrialRecord]) -> None:
        path = self.report.spill_path
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for record in records:
                fh.write(record_to_json(record) + "\n")
        self.report.spilled += len(records)


def load_spill(path: Path) -> list[TrialRecord]:
    """Trials spilled by an earlier writer (empty when the file does not exist)."""
    if not path.is_file():
        return []
    return [record_from_json(line) for line in path.read_text().splitlines() if line.strip()]
