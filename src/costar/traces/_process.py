"""A writer process: converting trials to MLflow spans and writing them off the trials' core.

In one process, the writer thread's conversion and MLflow's SQL compete with the trials for the
interpreter, so a run's last traces are still being written long after its last trial ended.
`ProcessWrite` is a `WriteFn` for TraceWriter that hands each batch to a child process (its own
interpreter, on another core) and returns the trace ids it verified in the store. The batching,
retries, spill file and accounting stay in TraceWriter. When the child cannot be started or
dies, batches are written in this process instead: nothing depends on the child being there.

Frames on the pipes are pickled objects behind an 8-byte length; the child ignores SIGINT (a
Ctrl-C stops the run, which then closes the child after the last batch).
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import struct
import subprocess
import sys
import threading
from typing import IO, Any

from costar.traces._model import TrialRecord

_HEADER = struct.Struct("!Q")


def _send(stream: IO[bytes], value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _receive(stream: IO[bytes]) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError("the writer process closed its pipe")
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the writer process closed its pipe")
    return pickle.loads(data)


class ProcessWrite:
    """`write(records) -> landed trace ids`, done by a child process when it is up."""

    def __init__(self, store: Any):
        self._store = store  # the fallback, and where the child's settings come from
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "costar.traces._process"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            assert self._proc.stdin is not None
            settings = (store.tracking_uri, store.experiment_name, store.redact)
            _send(self._proc.stdin, settings)
        except (OSError, ValueError):
            self._proc = None

    @property
    def in_child(self) -> bool:
        """Whether batches still go to the child process."""
        return self._proc is not None

    def __call__(self, records: list[TrialRecord]) -> set[str]:
        with self._lock:
            proc = self._proc
            if proc is None:
                landed: set[str] = self._store.write(records)
                return landed
            try:
                assert proc.stdin is not None and proc.stdout is not None
                _send(proc.stdin, records)
                ok, value = _receive(proc.stdout)
            except (OSError, EOFError, pickle.PickleError):
                self._stop()  # gone: write here from now on (this batch is retried)
                raise
            if not ok:
                raise RuntimeError(value)  # the store's error, retried by TraceWriter
            return set(value)

    def close(self) -> None:
        with self._lock:
            if self._proc is not None and self._proc.stdin is not None:
                try:
                    _send(self._proc.stdin, None)
                    self._proc.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            self._stop()

    def _stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._proc = None


def _serve() -> None:
    """The child: read batches, write them with its own TraceStore, answer landed ids."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from costar.traces._store import TraceStore

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing printed by a dependency may corrupt the frames
    uri, experiment, patterns = _receive(inp)
    store = TraceStore(uri, experiment, patterns)
    with contextlib.suppress(Exception):  # the first write reports what is wrong
        store.experiment_id  # noqa: B018 - connect before the first batch arrives
    while True:
        try:
            batch = _receive(inp)
        except EOFError:
            return
        if batch is None:
            return
        try:
            _send(out, (True, sorted(store.write(batch))))
        except Exception as exc:  # the store's failures go back to the parent's retries
            _send(out, (False, f"{type(exc).__name__}: {exc}"))


if __name__ == "__main__":
    _serve()
