"""Per-trial capture of what an in-process agent prints, never mixed into costar's own output.

`sys.stdout` and `sys.stderr` are process-wide, and trials run concurrently, so redirecting them
for one trial would steal the others' output (and costar's). Instead costar puts a router in
front of each stream once: a write goes to the buffer of the trial whose code is writing
(found through a context variable, which asyncio tasks inherit, or the trial's own thread),
and anything else goes to the original stream. Each buffer keeps at most `cap` characters (the
first half and the last half, with a marker of what was cut).
"""

from __future__ import annotations

import contextvars
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

CAP = 20_000

_current: contextvars.ContextVar[tuple[Capture, Capture] | None] = contextvars.ContextVar(
    "costar_capture", default=None
)
_by_thread: dict[int, tuple[Capture, Capture]] = {}
_install_lock = threading.Lock()


class Capture:
    """One stream of one trial, capped."""

    def __init__(self, cap: int = CAP):
        self.cap = cap
        self._head: list[str] = []
        self._head_len = 0
        self._tail = ""
        self.dropped = 0
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            room = self.cap // 2 - self._head_len
            if room > 0:
                self._head.append(text[:room])
                self._head_len += len(text[:room])
                text = text[room:]
            if not text:
                return
            tail = self._tail + text
            keep = self.cap - self.cap // 2
            if len(tail) > keep:
                self.dropped += len(tail) - keep
                tail = tail[-keep:]
            self._tail = tail

    def text(self) -> str | None:
        """Everything kept, or None if nothing was written."""
        with self._lock:
            head = "".join(self._head)
            marker = f"\n...[costar: cut {self.dropped} characters]...\n" if self.dropped else ""
            return (head + marker + self._tail) or None


class _Router:
    """Stands in for sys.stdout / sys.stderr: routes each write to its trial, else through."""

    def __init__(self, original: TextIO, index: int):
        self._original = original
        self._index = index  # 0: stdout, 1: stderr

    def _target(self) -> Capture | None:
        pair = _current.get() or _by_thread.get(threading.get_ident())
        return pair[self._index] if pair else None

    def write(self, text: str) -> int:
        target = self._target()
        if target is None:
            return self._original.write(text)
        target.write(str(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._target() is None:
            self._original.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, buffer...
        return getattr(self._original, name)


def _install() -> None:
    with _install_lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout, 0)
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr, 1)


@contextmanager
def capturing(out: Capture, err: Capture) -> Iterator[None]:
    """Route what this thread (and the tasks and contexts it starts) prints to `out`/`err`."""
    _install()
    ident = threading.get_ident()
    token = _current.set((out, err))
    _by_thread[ident] = (out, err)
    try:
        yield
    finally:
        _by_thread.pop(ident, None)
        _current.reset(token)
