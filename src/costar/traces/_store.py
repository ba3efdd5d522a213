"""The trace store: an MLflow tracking store, written in verified batches.

MLflow's asynchronous exporter drops traces under a burst and writes one transaction per span;
costar instead converts finished trials itself and writes many traces per `log_spans` call,
then reads back which trace ids landed. Runs are MLflow runs (visible in the MLflow UI) whose
traces carry the tag `costar.run_id`.

mlflow is imported on first use, never at import time of this module.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costar._env import quiet_dependencies
from costar._exceptions import NotFoundError, StoreError
from costar._signals import stop_requested
from costar.traces._cache import TraceCache
from costar.traces._convert import to_mlflow_spans
from costar.traces._infos import TraceInfo, feedback, info_of
from costar.traces._model import TAG_PREFIX, TrialRecord
from costar.traces._redact import Redactor
from costar.traces._sqlite import ensure_sqlite_store, quiet_mlflow
from costar.traces._view import TraceView

RUN_TAG = f"{TAG_PREFIX}run_id"
_LINK_CHUNK = 100  # MLflow's limit for link_traces_to_run
_SEARCH_PAGE = 500  # the REST API refuses more per page
_FETCH = 100  # full traces (with spans) read at once
_ID_PREFIX = re.compile(r"[A-Za-z0-9-]{1,64}")  # no LIKE wildcards (% and _)


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

    def set_run_tag(self, run_id: str, key: str, value: str) -> None:
        """Set a tag on a run (what went wrong, say, shown in the MLflow UI)."""
        try:
            self.client.set_tag(run_id, key, value)
        except Exception as exc:
            raise StoreError(f"cannot tag run {run_id}: {exc}") from exc

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
    def _tracing_client(self) -> Any:
        self._connect()
        return self._tracing

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
        store = self._tracing_client().store
        if not hasattr(store, "ManagedSessionMaker"):
            return {info.trace_id for info in self.infos(trace_ids)}
        found: set[str] = set()
        try:  # a database: read the id column alone
            for start in range(0, len(trace_ids), _SEARCH_PAGE):
                found |= _stored_ids(
                    store, trace_ids[start : start + _SEARCH_PAGE], self.experiment_id
                )
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot read traces from {self.tracking_uri}: {exc}") from exc
        return found

    def infos(self, trace_ids: Iterable[str]) -> list[TraceInfo]:
        """The stored traces among `trace_ids`, without spans (tags, state, assessments), read
        by id: one lookup per 500 ids, however large the experiment. Unknown ids are left out."""
        ids = list(trace_ids)
        found: list[TraceInfo] = []
        try:
            store = self._tracing_client().store
            for start in range(0, len(ids), _SEARCH_PAGE):
                chunk = ids[start : start + _SEARCH_PAGE]
                infos = store.batch_get_trace_infos(chunk, experiment_ids=[self.experiment_id])
                found.extend(info_of(info) for info in infos)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot read traces from {self.tracking_uri}: {exc}") from exc
        return found

    def search(
        self,
        tags: dict[str, str] | None = None,
        since_ms: int | None = None,
        oldest_first: bool = False,
        limit: int | None = None,
    ) -> Iterator[TraceInfo]:
        """This experiment's traces without spans, newest first (`oldest_first`: by request
        time ascending), read a page at a time: those carrying every tag in `tags` with that
        value, and with `since_ms` only those requested at or after it (ms since the epoch)."""
        clauses = [_tag_clause(k, v) for k, v in (tags or {}).items()]
        if since_ms is not None:
            clauses.append(f"trace.timestamp_ms >= {int(since_ms)}")
        order = "timestamp_ms ASC" if oldest_first else "timestamp_ms DESC"
        for page in self._pages(" AND ".join(clauses) or None, order, limit):
            yield from page

    def _pages(
        self, filter_string: str | None, order_by: str | None, limit: int | None = None
    ) -> Iterator[list[TraceInfo]]:
        token, seen = None, 0
        tracing = self._tracing_client()
        while limit is None or seen < limit:
            try:
                page = tracing.search_traces(
                    locations=[self.experiment_id],
                    filter_string=filter_string,
                    order_by=[order_by] if order_by else None,
                    max_results=_SEARCH_PAGE if limit is None else min(_SEARCH_PAGE, limit - seen),
                    page_token=token,
                    include_spans=False,
                )
            except StoreError:
                raise
            except Exception as exc:
                raise StoreError(f"cannot search traces in {self.tracking_uri}: {exc}") from exc
            infos = [info_of(t) for t in page]
            seen += len(infos)
            yield infos
            token = getattr(page, "token", None)
            if not token or not infos:
                return

    def run_traces(self, run_id: str) -> list[TraceRow]:
        """Every stored trace of a run (identity and status only, no spans)."""
        try:
            return [_row(info) for info in self.search(tags={RUN_TAG: run_id})]
        except StoreError as exc:
            raise StoreError(f"cannot read traces of run {run_id}: {exc.__cause__ or exc}") from exc

    def find_traces(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids of this experiment's traces that start with `prefix` (up to `limit`), for
        resolving the unique prefixes users type (as `git` accepts short hashes)."""
        if not _ID_PREFIX.fullmatch(prefix):
            return []  # no stored id holds other characters; never reaches the filter
        pages = self._pages(f"attributes.request_id LIKE '{prefix}%'", None, limit)
        return [i.trace_id for page in pages for i in page if i.trace_id.startswith(prefix)]

    def get_traces(self, trace_ids: Iterable[str]) -> list[Any]:
        """Full MLflow traces (with spans) by id, for MLflow's own APIs (judge alignment takes
        them); every other reader takes `views`."""
        return list(self._tracing_client().batch_get_traces(list(trace_ids)))

    def views(self, trace_ids: Iterable[str], cache: TraceCache | None = None) -> list[TraceView]:
        """TraceViews of the stored traces among `trace_ids`, each once, in that order (unknown
        ids are left out). With `cache`, those it holds are read from it, the rest added to it."""
        ids = list(dict.fromkeys(trace_ids))
        found = cache.get_many(ids) if cache is not None else {}
        missing = [i for i in ids if i not in found]
        for start in range(0, len(missing), _FETCH):
            try:
                chunk = self.get_traces(missing[start : start + _FETCH])
                fetched = [TraceView.from_mlflow(t) for t in chunk]
            except StoreError:
                raise
            except Exception as exc:
                raise StoreError(f"cannot read traces from {self.tracking_uri}: {exc}") from exc
            if cache is not None:
                cache.put_many(fetched)
            found.update((v.trace_id, v) for v in fetched)
        return [found[i] for i in ids if i in found]

    def experiment_views(
        self, limit: int | None = None, batch: int = 200
    ) -> Iterator[list[TraceView]]:
        """TraceViews of the experiment's traces (at most `limit`, newest first), in batches of
        `batch`: memory stays bounded however many the experiment holds."""
        try:
            for page in self._pages(None, "timestamp_ms DESC", limit):
                ids = [i.trace_id for i in page]
                for start in range(0, len(ids), batch):
                    yield self.views(ids[start : start + batch])
        except StoreError as exc:
            why = exc.__cause__ or exc
            raise StoreError(
                f"cannot read the traces of experiment {self.experiment_name!r}: {why}"
            ) from exc

    # -- assessments ----------------------------------------------------------------------
    def log_feedback(
        self,
        trace_id: str,
        name: str,
        value: Any,
        *,
        source_type: str,
        source_id: str,
        rationale: str | None = None,
        metadata: dict[str, str] | None = None,
        error: str | None = None,
    ) -> None:
        """Record an assessment on a stored trace, shown in the MLflow UI: a human label
        (`source_type` HUMAN, `source_id` the labeller) or a judge's verdict (LLM_JUDGE or
        CODE); `error` marks a judge that failed (the value is then None)."""
        entity = feedback(name, value, source_type, source_id, rationale, metadata, error)
        try:
            self._tracing_client().log_assessment(trace_id, entity)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot log feedback {name!r} on trace {trace_id}: {exc}") from exc

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        """Set a tag on a stored trace (found again with `search(tags=...)`)."""
        try:
            self._tracing_client().set_trace_tag(trace_id, key, value)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"cannot tag trace {trace_id}: {exc}") from exc


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


def _tag_clause(key: str, value: str) -> str:
    """MLflow's search filter for one tag's value (no quoting inside: refused)."""
    if "`" in key or "'" in value:
        raise ValueError(f"a tag search cannot hold ` in a key or ' in a value: {key}={value}")
    return f"tag.`{key}` = '{value}'"


def _row(info: TraceInfo) -> TraceRow:
    tags = info.tags
    return TraceRow(
        trace_id=info.trace_id,
        scenario_id=tags.get(f"{TAG_PREFIX}scenario_id", ""),
        trial=int(tags.get(f"{TAG_PREFIX}trial", "0")),
        status=tags.get(f"{TAG_PREFIX}status", ""),
        execution_ms=info.execution_ms,
    )
