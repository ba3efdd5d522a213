"""The verdict store: costar's own SQLite file beside the MLflow store, written in batches.

Verdicts are many (judges x traces, re-scored often) and MLflow writes an assessment in about
4 ms, so they live here, keyed by (trace, judge, judge version), and are mirrored to MLflow as
Feedback (the `mirrored` column remembers which already are).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from costar.judges import Verdict

_SCHEMA = """
CREATE TABLE IF NOT EXISTS verdicts (
    trace_id TEXT NOT NULL,
    judge TEXT NOT NULL,
    judge_version TEXT NOT NULL,
    run_id TEXT NOT NULL,
    scenario_id TEXT NOT NULL,
    status TEXT NOT NULL,
    passed INTEGER,
    value_num REAL,
    created_at REAL NOT NULL,
    mirrored INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    PRIMARY KEY (trace_id, judge, judge_version)
);
CREATE INDEX IF NOT EXISTS verdicts_run ON verdicts (run_id, judge);
"""


class VerdictStore:
    """Verdicts in one SQLite file; safe to share between threads."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(verdicts)")}
        if "value_num" not in columns:  # stores made before the column existed
            self._conn.execute("ALTER TABLE verdicts ADD COLUMN value_num REAL")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def write(self, verdicts: Iterable[Verdict]) -> int:
        """Insert or replace verdicts in one transaction; returns how many."""
        rows = [
            (
                v.trace_id,
                v.judge,
                v.judge_version,
                v.run_id,
                v.scenario_id,
                v.status,
                None if v.passed is None else int(v.passed),
                v.created_at,
                v.model_dump_json(),
            )
            for v in verdicts
        ]
        with self._lock, self._conn:
            self._conn.executemany(
                "INSERT OR REPLACE INTO verdicts (trace_id, judge, judge_version, run_id, "
                "scenario_id, status, passed, created_at, data) VALUES (?,?,?,?,?,?,?,?,?)",
                rows,
            )
        return len(rows)

    def done(self, run_id: str) -> set[tuple[str, str, str]]:
        """Keys (trace, judge, version) of a run's verdicts that need no re-scoring.

        Errors are not done: the next assess retries them.
        """
        with self._lock:
            cur = self._conn.execute(
                "SELECT trace_id, judge, judge_version FROM verdicts "
                "WHERE run_id = ? AND status != 'error'",
                (run_id,),
            )
            return {tuple(r) for r in cur.fetchall()}  # type: ignore[misc]

    def for_run(self, run_id: str, versions: dict[str, str] | None = None) -> list[Verdict]:
        """A run's verdicts; with `versions` ({judge: version}) only those judge versions,
        else the newest verdict per trace and judge."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT judge, judge_version, data, created_at FROM verdicts WHERE run_id = ? "
                "ORDER BY created_at",
                (run_id,),
            ).fetchall()
        out: dict[tuple[str, str], Verdict] = {}
        for judge, version, data, _ in rows:
            if versions is not None and versions.get(judge) != version:
                continue
            v = Verdict.model_validate_json(data)
            out[(v.trace_id, v.judge)] = v
        return sorted(out.values(), key=lambda v: (v.scenario_id, v.trial, v.judge))

    def tally(self, run_id: str, versions: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Per judge (at the given versions): passed, failed, error, skipped, mean value."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT judge, judge_version, status, passed, COUNT(*), SUM(value_num), "
                "COUNT(value_num) FROM verdicts WHERE run_id = ? "
                "GROUP BY judge, judge_version, status, passed",
                (run_id,),
            ).fetchall()
        out: dict[str, dict[str, Any]] = {}
        for judge, version, status, passed, count, total, counted in rows:
            if versions.get(judge) != version:
                continue
            t = out.setdefault(
                judge, {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "sum": 0.0, "n": 0}
            )
            key = (
                status
                if status in ("error", "skipped")
                else ("passed" if passed == 1 else "failed" if passed == 0 else None)
            )
            if key:
                t[key] += count
            t["sum"] += total or 0.0
            t["n"] += counted
        return out

    def unmirrored(self, run_id: str, limit: int = 500) -> list[Verdict]:
        """Up to `limit` verdicts of the run not yet mirrored to MLflow."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT data FROM verdicts WHERE run_id = ? AND mirrored = 0 LIMIT ?",
                (run_id, limit),
            ).fetchall()
        return [Verdict.model_validate_json(r[0]) for r in rows]

    def mark_mirrored(self, keys: Iterable[tuple[str, str, str]]) -> None:
        with self._lock, self._conn:
            self._conn.executemany(
                "UPDATE verdicts SET mirrored = 1 WHERE trace_id = ? AND judge = ? "
                "AND judge_version = ?",
                list(keys),
            )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)
