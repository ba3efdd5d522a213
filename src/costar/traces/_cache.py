"""The derived trace cache: compact TraceViews in SQLite, so re-scoring skips the MLflow store.

Only a copy: it can be deleted at any time and is rebuilt from the store on the next assess.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from pathlib import Path

from costar.config import DEFAULT_STORE_DIR
from costar.traces._view import COMPACT_VERSION, TraceView


class TraceCache:
    """trace id -> compressed compact TraceView."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS traces (trace_id TEXT PRIMARY KEY, v INTEGER, data BLOB)"
        )

    @classmethod
    def in_project(cls, root: Path) -> TraceCache:
        """The project's cache, `.costar/cache/traces.db` under its root (the one place that
        path is built)."""
        return cls(root / DEFAULT_STORE_DIR / "cache" / "traces.db")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def get_many(self, trace_ids: list[str]) -> dict[str, TraceView]:
        out: dict[str, TraceView] = {}
        with self._lock:
            for start in range(0, len(trace_ids), 500):
                chunk = trace_ids[start : start + 500]
                marks = ",".join("?" for _ in chunk)
                rows = self._conn.execute(
                    f"SELECT trace_id, data FROM traces WHERE v = ? AND trace_id IN ({marks})",
                    [COMPACT_VERSION, *chunk],
                ).fetchall()
                for trace_id, blob in rows:
                    out[trace_id] = TraceView.from_compact(json.loads(zlib.decompress(blob)))
        return out

    def put_many(self, views: list[TraceView]) -> None:
        rows = [
            (
                v.trace_id,
                COMPACT_VERSION,
                zlib.compress(json.dumps(v.to_compact(), default=repr).encode(), 1),
            )
            for v in views
        ]
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO traces VALUES (?, ?, ?)", rows)
