"""SIGINT and SIGTERM: both stop costar, and a stop is never lost.

Outside a run, both raise KeyboardInterrupt (`install`, called by the CLI), and remember that
they did: Python ignores an exception raised inside a garbage-collector or weakref callback
(SQLAlchemy runs such callbacks while MLflow creates a store), so a Ctrl-C landing there would
be forgotten and the run would start anyway. A run that starts after a stop was requested
stops at once.

A KeyboardInterrupt can land between any two bytecodes: after a finished trial was taken off
its queue and before it reached the writer, or in the middle of the final write. While a run
records, both signals (Ctrl-C, and what CI systems and container stops send) only set the
run's cancel event; the run then stops its agents, writes what finished and marks itself
resumable. A second signal changes nothing: finished trials are still written.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
stop_requested = threading.Event()


def _interrupt(signum: int, frame: Any) -> None:
    stop_requested.set()
    raise KeyboardInterrupt


def install() -> None:
    """Make SIGINT and SIGTERM raise KeyboardInterrupt, and remember that they came."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)


@contextlib.contextmanager
def signals_set(event: threading.Event) -> Iterator[None]:
    """Inside, SIGINT and SIGTERM set `event` instead of raising (main thread only).

    `event` is set on entry when a stop was requested before (see the module docstring).
    """
    if stop_requested.is_set():
        event.set()
    if threading.current_thread() is not threading.main_thread():
        yield  # signals are only delivered to the main thread; nothing to redirect
        return

    def handler(signum: int, frame: Any) -> None:
        event.set()

    previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
