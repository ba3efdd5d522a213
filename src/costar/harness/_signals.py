"""SIGINT and SIGTERM as a cancel event while a run is recording.

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


@contextlib.contextmanager
def signals_set(event: threading.Event) -> Iterator[None]:
    """Inside, SIGINT and SIGTERM set `event` instead of raising (main thread only)."""
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
