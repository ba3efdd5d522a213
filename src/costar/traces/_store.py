"""The trace store: an MLflow tracking store, written in verified batches.

MLflow's asynchronous exporter drops traces under a burst and writes one transaction per span;
costar instead converts finished trials itself and writes many traces per `log_spans` call,
then reads back which trace ids landed. Runs are MLflow runs (visible in the MLflow UI) whose
traces carry the tag `costar.run_id`.

mlflow is imported on first use, never at import time of this module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costar._env import quiet_dependencies
from costar._exceptions import NotFoundError, StoreError
from costar._signals import stop_requested
from costar.traces._convert import to_mlflow_spans
from costar.traces._model import TAG_PREFIX, TrialRecord
from costar.traces._redact import Redactor

RUN_TAG = f"{TAG_PREFIX}run_id"
_LINK_CHUNK = 100  # MLflow's limit for link_traces_to_run
_SEARCH_PAGE = 500  # the REST API refuses more per page
_ID_PREFIX = re.compile(r"[A-Za-z0-9-]{1,64}")  # no LIKE wildcards (% and _)


def quiet_mlflow() -> None:
    """Keep MLflow's and alembic's INFO chatter (migrations, store creation) off the terminal."""
    for name in ("mlflow", "mlflow.store.db.utils", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # it logs every database error with its traceback, then raises it; costar reports it once
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (released when the process dies, too)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the atomic rename still protects readers
        yield
        return
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _half_made(db: Path) -> bool:
    """Whether `db` is a store whose migrations never finished (and so holds no data)."""
    try:
        uri = f"{db.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = {row[0] for row in conn.execute("select name from sqlite_master")}
            for table, most in (("experiments", 1), ("runs", 0), ("trace_info", 0)):
                if (
                    table in tables
                    and conn.execute(f"select count(*) from {table}").fetchone()[0] > most
                ):
                    return False  # it holds data: never touched
            version = conn.execute("select version_num from alembic_version").fetchall()
    except sqlite3.Error:
        return False  # not readable as a store: let MLflow say what is wrong
    from mlflow.store.db.utils import _get_latest_schema_revision

    return version != [(_get_latest_schema_revision(),)]


def ensure_sqlite_store(db: Path) -> None:
    """Create the SQLite store `db` if it does not exist, so that it is never seen half-made.

    MLflow migrates a new SQLite file in place (4 to 7 s, several dozen steps that are not one
    transaction): an interruption, or a second process migrating at the same time, leaves a
    store that fails forever ("table _alembic_tmp_... already exists"). Instead, under a lock
    beside the store, the schema is built in a temporary file and renamed into place only when
    complete; a process that waited on the lock finds the finished store. An interrupted
    creation leaves a temporary file that the next creation removes. A store an older costar
    left half-made (it holds no data) is moved aside as `mlflow.db.interrupted-TIME` and made
    again.
    """
    if db.exists() and not _half_made(db):
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(db.with_name(f"{db.name}.lock")):
        if db.exists():
            if not _half_made(db):  # made by another process while this one waited
                return
            # left by an interrupted creation of an older costar; it holds no data, but keep it
            db.rename(db.with_name(f"{db.name}.interrupted-{int(time.time())}"))
        for stale in db.parent.glob(f"{db.name}.creating-*"):
            stale.unlink(missing_ok=True)
        tmp = db.with_name(f"{db.name}.creating-{os.getpid()}")
        try:
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            # opening an empty store migrates it and adds MLflow's Default experiment
            made = SqlAlchemyStore(f"sqlite:///{tmp}", (db.parent / "artifacts").resolve().as_uri())
            made.engine.dispose()
            os.replace(tmp, db)
        finally:
            tmp.unlink(missing_ok=True)


@dataclass
class RunInfo:
    """A costar run as stored: an MLflow run plus costar's parameters and counts."""

    run_id: str
    name: str
    status: str
    start_time: float
    end_time: float | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class TraceRow:
    """A stored trace's identity within a run."""

    trace_id: str
    scenario_id: str
    trial: int
    status: str
    execution_ms: int | None


class TraceStore:
    """Traces and runs in one MLflow experiment of one tracking store."""

    def __init__(self, tracking_uri: str, experiment: str = "costar", redact: Iterable[str] = ()):
        self.tracking_uri = tracking_uri
        self.redactor = Redactor(redact)  # applied to every trace this store writes
        self.experiment_name = experiment
        self._experiment_id: str | None = None
        self._client: Any = None
        self._tracing: Any = None
        self._prepared: dict[str, list[Any]] = {}  # trace id -> its spans, converted ahead

    # -- connection -----------------------------------------------------------------------
    def _connect(self) -> None:
        if self._client is not None:
            return
        quiet_dependencies()
        quiet_mlflow()
        try:
            from mlflow.tracing.client import TracingClient
            from mlflow.tracking import MlflowClient

            quiet_mlflow()  # mlflow sets its logger to INFO when imported
            if self.tracking_uri.startswith("sqlite:///"):
                ensure_sqlite_store(Path(self.tracking_uri.removeprefix("sqlite:///")))
            self._client = MlflowClient(tracking_uri=self.tracking_uri)
            self._tracing = TracingClient(self.tracking_uri)
        except Exception as exc:  # any backend failure: bad URI, unreachable server, migration
            if stop_requested.is_set():
                # a Ctrl-C swallowed inside the backend (a gc callback) left it half-rolled-back:
                # that is the stop the user asked for, not a store fault
                raise KeyboardInterrupt from exc
            raise StoreError(f"cannot open the trace store {self.tracking_uri}: {exc}") from exc

    @property
    def client(self) -> Any:
        """The MlflowClient for this store."""
        self._connect()
        return self._client

    @property
    def experiment_id(self) -> str:
        """The experiment's id, created on first use."""
        if self._experiment_id is None:
            self._connect()
            try:
                found = self._client.get_experiment_by_name(self.experiment_name)
                if found is None:
                    location = None
                    if self.tracking_uri.startswith("sqlite:///"):
                        db = Path(self.tracking_uri.removeprefix("sqlite:///"))
                        location = (db.parent / "artifacts").resolve().as_uri()
                    self._experiment_id = self._create_experiment(location)
                else:
                    self._experiment_id = found.experiment_id
            except Exception as exc:
                raise StoreError(f"cannot open experiment {self.experiment_name!r}: {exc}") from exc
        assert self._experiment_id is not None
        return self._experiment_id

    def _create_experiment(self, location: str | None) -> str:
        try:
            return str(
                self._client.create_experiment(self.experiment_name, artifact_location=location)
            )
        except Exception:
            # another process may have created it first: then it exists now
            found = self._client.get_experiment_by_name(self.experiment_name)
            if found is None:
                raise
            return str(found.experiment_id)

    # -- runs -----------------------------------------------------------------------------
    def create_run(self, name: str, params: dict[str, Any], tags: dict[str, str]) -> str:
        """A new MLflow run holding the costar run's parameters; returns its id."""
        try:
            run = self.client.create_run(self.experiment_id, run_name=name, tags=tags)
            run_id = run.info.run_id
            from mlflow.entities import Param

            self.client.log_batch(
                run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()]
            )
            return str(run_id)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot create a run in {self.tracking_uri}: {exc}") from exc

    def finish_run(self, run_id: str, status: str, metrics: dict[str, float]) -> None:
        """Record the run's counts and its final status (FINISHED, KILLED or FAILED)."""
        from mlflow.entities import Metric

        try:
            now = int(time.time() * 1000)
            self.client.log_batch(
                run_id, metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()]
            )
            self.client.set_terminated(run_id, status=status)
        except Exception as exc:
            raise StoreError(f"cannot update run {run_id}: {exc}") from exc

    def reopen_run(self, run_id: str) -> None:
        """Mark a run as running again (for --resume)."""
        try:
            self.client.update_run(run_id, status="RUNNING")
        except Exception as exc:
            raise StoreError(f"cannot update run {run_id}: {exc}") from exc

    def _run_info(self, run: Any) -> RunInfo:
        return RunInfo(
            run_id=run.info.run_id,
            name=run.info.run_name or "",
            status=run.info.status,
            start_time=(run.info.start_time or 0) / 1000,
            end_time=(run.info.end_time / 1000) if run.info.end_time else None,
            params=dict(run.data.params),
            metrics=dict(run.data.metrics),
            tags={k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
        )

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        """The newest costar runs first."""
        try:
            runs = self.client.search_runs(
                [self.experiment_id],
                filter_string="tags.`costar.kind` = 'run'",
                max_results=limit,
                order_by=["attributes.start_time DESC"],
            )
        except Exception as exc:
            raise StoreError(f"cannot list runs in {self.tracking_uri}: {exc}") from exc
        return [self._run_info(r) for r in runs]

    def newest_run(self) -> RunInfo:
        """The most recently started run."""
        newest = self.list_runs(limit=1)
        if not newest:
            raise NotFoundError(f"no runs in {self.tracking_uri} yet (start one: costar run)")
        return newest[0]

    def resolve_run(self, run_id: str | None) -> RunInfo:
        """A run by id or unique prefix; the newest run when `run_id` is None."""
        return self.newest_run() if run_id is None else self.get_run(run_id)

    def get_run(self, run_id: str) -> RunInfo:
        """A run by its full id or a unique prefix of it (as `git` accepts short hashes)."""
        candidates = [r for r in self.list_runs(limit=10_000) if r.run_id.startswith(run_id)]
        if not candidates:
            raise NotFoundError(f"no run {run_id!r} in {self.tracking_uri} (see `costar runs`)")
        if len(candidates) > 1:
            raise NotFoundError(
                f"run id {run_id!r} is ambiguous ({len(candidates)} runs match; give more digits)"
            )
        return candidates[0]

    # -- traces ---------------------------------------------------------------------------
    def prepare(self, record: TrialRecord) -> None:
        """Convert a finished trial to MLflow spans now, on the caller's thread, so that `write`
        (on the writer's thread, the run's bottleneck) only stores them."""
        self._prepared[record.trace_id] = to_mlflow_spans(record, self.redactor)

    def write(self, records: list[TrialRecord]) -> set[str]:
        """Write the trials as traces in one batch; return the trace ids verified in the store."""
        if not records:
            return set()
        spans = []
        for record in records:
            ahead = self._prepared.pop(record.trace_id, None)
            spans.extend(ahead if ahead is not None else to_mlflow_spans(record, self.redactor))
        experiment_id = self.experiment_id  # connects on first use
        self._tracing.log_spans(experiment_id, spans)
        landed = self.existing_trace_ids([r.trace_id for r in records])
        by_run: dict[str, list[str]] = {}
        for record in records:
            if record.trace_id in landed:
                by_run.setdefault(record.run_id, []).append(record.trace_id)
        for run_id, ids in by_run.items():
            for start in range(0, len(ids), _LINK_CHUNK):
                self._client.link_traces_to_run(ids[start : start + _LINK_CHUNK], run_id)
        return landed

    def existing_trace_ids(self, trace_ids: list[str]) -> set[str]:
        """Which of these trace ids exist in the store."""
        self._connect()
        found: set[str] = set()
        try:
            store = self._tracing.store
            for start in range(0, len(trace_ids), 500):
                chunk = trace_ids[start : start + 500]
                if hasattr(store, "ManagedSessionMaker"):  # a database: read the ids alone
                    found |= _stored_ids(store, chunk, self.experiment_id)
                    continue
                infos = store.batch_get_trace_infos(chunk, experiment_ids=[self.experiment_id])
                found.update(info.trace_id for info in infos)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot read traces from {self.tracking_uri}: {exc}") from exc
        return found

    def run_traces(self, run_id: str) -> list[TraceRow]:
        """Every stored trace of a run (identity and status only, no spans)."""
        self._connect()
        rows: list[TraceRow] = []
        token = None
        try:
            while True:
                infos = self._tracing.search_traces(
                    locations=[self.experiment_id],
                    filter_string=f"tag.`{RUN_TAG}` = '{run_id}'",
                    max_results=_SEARCH_PAGE,
                    page_token=token,
                    include_spans=False,
                )
                rows.extend(_row(info.info if hasattr(info, "info") else info) for info in infos)
                token = getattr(infos, "token", None)
                if not token:
                    break
        except Exception as exc:
            raise StoreError(f"cannot read traces of run {run_id}: {exc}") from exc
        return rows

    def find_traces(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids of this experiment's traces that start with `prefix` (up to `limit`), for
        resolving the unique prefixes users type (as `git` accepts short hashes)."""
        if not _ID_PREFIX.fullmatch(prefix):
            return []  # no stored id holds other characters; never reaches the filter
        self._connect()
        try:
            found = self._tracing.search_traces(
                locations=[self.experiment_id],
                filter_string=f"attributes.request_id LIKE '{prefix}%'",
                max_results=limit,
                include_spans=False,
            )
        except Exception as exc:
            raise StoreError(f"cannot search traces in {self.tracking_uri}: {exc}") from exc
        ids = [(t.info if hasattr(t, "info") else t).trace_id for t in found]
        return [i for i in ids if i.startswith(prefix)]

    def get_traces(self, trace_ids: Iterable[str]) -> list[Any]:
        """Full MLflow traces (with spans) by id."""
        self._connect()
        return list(self._tracing.batch_get_traces(list(trace_ids)))

    def experiment_traces(self, limit: int | None = None, batch: int = 200) -> Iterator[list[Any]]:
        """Every finished trace of the experiment (at most `limit`, newest first), with spans,
        in batches of `batch`: memory stays bounded however many the experiment holds."""
        self._connect()
        token, seen = None, 0
        try:
            while limit is None or seen < limit:
                page = self._tracing.search_traces(
                    locations=[self.experiment_id],
                    order_by=["timestamp_ms DESC"],
                    max_results=_SEARCH_PAGE,
                    page_token=token,
                    include_spans=False,
                )
                ids = [(t.info if hasattr(t, "info") else t).trace_id for t in page]
                ids = ids[: None if limit is None else limit - seen]
                for start in range(0, len(ids), batch):
                    yield self.get_traces(ids[start : start + batch])
                seen += len(ids)
                token = getattr(page, "token", None)
                if not token or not ids:
                    return
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"cannot read the traces of experiment {self.experiment_name!r}: {exc}"
            ) from exc


def _stored_ids(store: Any, trace_ids: list[str], experiment_id: str) -> set[str]:
    """Which of `trace_ids` a SQL store holds in the experiment: one query of the id column
    (`batch_get_trace_infos` loads each trace's tags and metadata too, several times slower)."""
    from mlflow.store.tracking.dbmodels.models import SqlTraceInfo

    with store.ManagedSessionMaker() as session:
        rows = session.query(SqlTraceInfo.request_id).filter(
            SqlTraceInfo.request_id.in_(trace_ids),
            SqlTraceInfo.experiment_id == int(experiment_id),
        )
        return {request_id for (request_id,) in rows}


def _row(info: Any) -> TraceRow:
    tags = info.tags
    return TraceRow(
        trace_id=info.trace_id,
        scenario_id=tags.get(f"{TAG_PREFIX}scenario_id", ""),
        trial=int(tags.get(f"{TAG_PREFIX}trial", "0")),
        status=tags.get(f"{TAG_PREFIX}status", ""),
        execution_ms=info.execution_duration,
    )
