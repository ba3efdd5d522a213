"""The verdict store: verdicts in any SQLAlchemy database, a SQLite file by default.

Verdicts are many (judges x traces, re-scored often) and MLflow writes an assessment in about
4 ms, so they live here, keyed by (trace, judge, judge version), written in batches, and are
mirrored to MLflow as Feedback (the `mirrored` column remembers which already are). Teams point
`verdict_store` at a shared database (for example the PostgreSQL beside their MLflow server).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa

from costar._exceptions import StoreError
from costar.judges import Verdict
from costar.traces import Redactor

_meta = sa.MetaData()
verdicts_table = sa.Table(
    "costar_verdicts",
    _meta,
    sa.Column("trace_id", sa.String(64), primary_key=True),
    sa.Column("judge", sa.String(200), primary_key=True),
    sa.Column("judge_version", sa.String(64), primary_key=True),
    sa.Column("inputs", sa.String(64), nullable=True),  # Verdict.inputs; added in place
    sa.Column("run_id", sa.String(64), nullable=False, index=True),
    sa.Column("scenario_id", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("passed", sa.Boolean, nullable=True),
    sa.Column("value_num", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("mirrored", sa.Boolean, nullable=False, default=False),
    sa.Column("data", sa.Text, nullable=False),
)
_T = verdicts_table.c


class VerdictRow(NamedTuple):
    """The columns of a stored verdict that aggregates need."""

    trace_id: str
    judge: str
    status: str
    passed: bool | None
    value: float | None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


class VerdictStore:
    """Verdicts in one database; safe to share between threads."""

    def __init__(self, target: str | Path, redact: Iterable[str] = ()):
        url = target if isinstance(target, str) and "://" in target else f"sqlite:///{target}"
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.url = url
        self.redactor = Redactor(redact)  # applied to every verdict this store writes
        self._lock = threading.Lock()
        try:
            self._engine = sa.create_engine(url, future=True)
            if self._engine.dialect.name == "sqlite":
                sa.event.listen(self._engine, "connect", _sqlite_pragmas)
            _meta.create_all(self._engine)
            _add_inputs_column(self._engine)
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"cannot open the verdict store {url}: {exc}") from exc

    def close(self) -> None:
        self._engine.dispose()

    def redacted(self, verdicts: Iterable[Verdict]) -> list[Verdict]:
        """The verdicts as this store writes them: secrets redacted from their free text."""
        return [_redacted(v, self.redactor) for v in verdicts]

    def write(self, verdicts: Iterable[Verdict]) -> int:
        """Insert or replace verdicts in one transaction; returns how many."""
        rows = [
            {
                "trace_id": v.trace_id,
                "judge": v.judge,
                "judge_version": v.judge_version,
                "inputs": v.inputs,
                "run_id": v.run_id,
                "scenario_id": v.scenario_id,
                "status": v.status,
                "passed": v.passed,
                "value_num": _number(v.value),
                "created_at": v.created_at,
                "mirrored": False,
                "data": _redacted(v, self.redactor).model_dump_json(),
            }
            for v in verdicts
        ]
        if not rows:
            return 0
        with self._lock, self._engine.begin() as conn:
            self._upsert(conn, rows)
        return len(rows)

    def _upsert(self, conn: sa.Connection, rows: list[dict[str, Any]]) -> None:
        """One statement where the database has native upsert; delete-then-insert elsewhere."""
        dialect = self._engine.dialect.name
        if dialect in ("sqlite", "postgresql"):
            insert = importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
            stmt = insert(verdicts_table)
            keys = {"trace_id", "judge", "judge_version"}
            stmt = stmt.on_conflict_do_update(
                index_elements=[_T.trace_id, _T.judge, _T.judge_version],
                set_={
                    c.name: stmt.excluded[c.name] for c in verdicts_table.c if c.name not in keys
                },
            )
            conn.execute(stmt, rows)
            return
        keyset = [(r["trace_id"], r["judge"], r["judge_version"]) for r in rows]
        for start in range(0, len(keyset), 300):
            conn.execute(
                verdicts_table.delete().where(
                    sa.tuple_(_T.trace_id, _T.judge, _T.judge_version).in_(
                        keyset[start : start + 300]
                    )
                )
            )
        conn.execute(verdicts_table.insert(), rows)

    def done(self, run_id: str) -> dict[tuple[str, str, str], str]:
        """Keys (trace, judge, version) of a run's scored verdicts, each with the hash of the
        inputs it read (`Verdict.inputs`; "" before that was recorded).

        Errors are not done: the next assess retries them.
        """
        query = sa.select(_T.trace_id, _T.judge, _T.judge_version, _T.inputs).where(
            _T.run_id == run_id, _T.status != "error"
        )
        with self._engine.connect() as conn:
            return {(t, j, v): i or "" for t, j, v, i in conn.execute(query)}

    def for_run(self, run_id: str, versions: dict[str, str] | None = None) -> list[Verdict]:
        """A run's verdicts; with `versions` ({judge: version}) only those judge versions,
        else the newest verdict per trace and judge."""
        query = (
            sa.select(_T.judge, _T.judge_version, _T.data)
            .where(_T.run_id == run_id)
            .order_by(_T.created_at)
        )
        out: dict[tuple[str, str], Verdict] = {}
        with self._engine.connect() as conn:
            for judge, version, data in conn.execute(query):
                if versions is not None and versions.get(judge) != version:
                    continue
                v = Verdict.model_validate_json(data)
                out[(v.trace_id, v.judge)] = v
        return sorted(out.values(), key=lambda v: (v.scenario_id, v.trial, v.judge))

    def run_ids(self, prefix: str) -> list[str]:
        """Every run id that starts with `prefix` (the windows of a monitor), sorted."""
        query = sa.select(_T.run_id).where(_T.run_id.like(prefix + "%")).distinct()
        with self._engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(query))

    def rows_for_run(self, run_id: str) -> list[VerdictRow]:
        """A run's newest verdict per trace and judge as light rows (no JSON parsing): for
        aggregates over many verdicts, such as monitoring windows."""
        query = (
            sa.select(_T.trace_id, _T.judge, _T.status, _T.passed, _T.value_num)
            .where(_T.run_id == run_id)
            .order_by(_T.created_at)
        )
        newest: dict[tuple[str, str], VerdictRow] = {}
        with self._engine.connect() as conn:
            for row in conn.execute(query):
                newest[(row[0], row[1])] = VerdictRow(*row)
        return list(newest.values())

    def for_traces(
        self, trace_ids: Iterable[str], versions: dict[str, str] | None = None
    ) -> list[Verdict]:
        """Verdicts on these traces: of these judge versions ({judge: version}), or else the
        newest per trace and judge."""
        ids = list(trace_ids)
        out: dict[tuple[str, str], Verdict] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(ids), 500):
                query = sa.select(_T.judge, _T.judge_version, _T.data).where(
                    _T.trace_id.in_(ids[start : start + 500])
                )
                if versions is not None:
                    query = query.where(_T.judge.in_(list(versions)))
                for judge, version, data in conn.execute(query.order_by(_T.created_at)):
                    if versions is None or versions.get(judge) == version:
                        v = Verdict.model_validate_json(data)
                        out[(v.trace_id, v.judge)] = v
        return list(out.values())

    def tally(self, run_id: str, versions: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Per judge (at the given versions): passed, failed, error, skipped, sum and count of
        numeric values."""
        query = (
            sa.select(
                _T.judge,
                _T.judge_version,
                _T.status,
                _T.passed,
                sa.func.count(),
                sa.func.sum(_T.value_num),
                sa.func.count(_T.value_num),
            )
            .where(_T.run_id == run_id)
            .group_by(_T.judge, _T.judge_version, _T.status, _T.passed)
        )
        out: dict[str, dict[str, Any]] = {}
        with self._engine.connect() as conn:
            for judge, version, status, passed, count, total, counted in conn.execute(query):
                if versions.get(judge) != version:
                    continue
                t = out.setdefault(
                    judge, {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "sum": 0.0, "n": 0}
                )
                key = (
                    status
                    if status in ("error", "skipped")
                    else ("passed" if passed is True else "failed" if passed is False else None)
                )
                if key:
                    t[key] += count
                t["sum"] += total or 0.0
                t["n"] += counted
        return out

    def unmirrored(self, run_id: str, limit: int = 500) -> list[Verdict]:
        """Up to `limit` verdicts of the run not yet mirrored to MLflow."""
        query = sa.select(_T.data).where(_T.run_id == run_id, _T.mirrored.is_(False)).limit(limit)
        with self._engine.connect() as conn:
            return [Verdict.model_validate_json(r[0]) for r in conn.execute(query)]

    def mark_mirrored(self, keys: Iterable[tuple[str, str, str]]) -> None:
        keys = list(keys)
        with self._lock, self._engine.begin() as conn:
            for start in range(0, len(keys), 300):
                conn.execute(
                    verdicts_table.update()
                    .where(
                        sa.tuple_(_T.trace_id, _T.judge, _T.judge_version).in_(
                            keys[start : start + 300]
                        )
                    )
                    .values(mirrored=True)
                )


def _redacted(v: Verdict, redactor: Redactor) -> Verdict:
    """The verdict with secrets redacted from its free text (rationale, error, text value,
    details such as tool results and member rationales)."""
    return v.model_copy(
        update={
            "rationale": redactor.text(v.rationale),
            "error": redactor.text(v.error) if v.error else v.error,
            "value": redactor.text(v.value) if isinstance(v.value, str) else v.value,
            "details": redactor.value(v.details) if v.details else v.details,
        }
    )


def _add_inputs_column(engine: sa.Engine) -> None:
    """Stores made before verdicts recorded their inputs gain the column; their old rows
    (inputs NULL) are re-scored once by the next assess."""
    columns = {c["name"] for c in sa.inspect(engine).get_columns(verdicts_table.name)}
    if "inputs" in columns:
        return
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(f"ALTER TABLE {verdicts_table.name} ADD COLUMN inputs VARCHAR(64)")
            )
    except sa.exc.SQLAlchemyError:  # another process added it first
        columns = {c["name"] for c in sa.inspect(engine).get_columns(verdicts_table.name)}
        if "inputs" not in columns:
            raise


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class VerdictSelection(NamedTuple):
    """Verdicts chosen for display, with the counts that explain an empty choice."""

    verdicts: list[Verdict]
    stored: int  # the verdicts there were
    of_judges: int  # of them, those of the named judges


def select_verdicts(
    found: list[Verdict], judges: Iterable[str] | None = None, failed: bool = False
) -> VerdictSelection:
    """Narrow verdicts to `judges` (all when none are named), then, with `failed`, to the
    failing and errored ones."""
    names = set(judges or ())
    chosen = [v for v in found if v.judge in names] if names else list(found)
    shown = [v for v in chosen if v.passed is False or v.status == "error"] if failed else chosen
    return VerdictSelection(shown, len(found), len(chosen))
