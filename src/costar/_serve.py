"""Loopback HTTP servers (the fake LLM, the recorder, the OTLP collector, the replay endpoint,
the labelling page) served from a daemon thread, and stopped at once.

`serve_forever` notices `shutdown()` only at its next poll, by default every 0.5 s: each stop
(one per trial for the OTLP collector) waited that long. Polling every 50 ms costs nothing
measurable and makes a stop take at most that.
"""

from __future__ import annotations

import socketserver
import threading

STOP_POLL = 0.05  # seconds between serve_forever's checks for shutdown()


def serve_in_background(server: socketserver.BaseServer, name: str) -> threading.Thread:
    """Start `server.serve_forever` on a daemon thread named `name`; returns the thread."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": STOP_POLL}, daemon=True, name=name
    )
    thread.start()
    return thread


def stop_server(server: socketserver.BaseServer) -> None:
    """Stop serving (within STOP_POLL) and close the listening socket."""
    server.shutdown()
    server.server_close()
