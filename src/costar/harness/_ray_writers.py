"""Trace writers on Ray: actors that store finished trials in the MLflow store, in parallel.

The run's writer (`TraceWriter`, in the driver) still decides what is written, retried and
spilled, and verifies what landed; on Ray it hands each batch to these actors, split between
them, instead of storing it itself. So the conversion and the store's `log_spans` of every
trace run in the actors' processes (one per node, at least two), not on the driver's core, and
a run on many workers is not capped by one process writing. Writing is idempotent: a trace's
id is fixed when its trial finishes, and storing a trace id again merges into the same trace,
so an actor restarted after a crash (Ray retries its call) cannot write a trace twice.

Only stores that many processes on many machines can reach take actors: an MLflow server
(http, https) or a database server. A SQLite file keeps the driver's own writer (one file, one
writer at a time, on one machine).
"""

from __future__ import annotations

from typing import Any

from costar.traces import TraceStore, TrialRecord

MIN_WRITERS = 2
_SHARED_SCHEMES = ("http://", "https://", "postgresql", "mysql", "mssql")


class _Writer:
    """One actor: a TraceStore of its own (its settings came in the runtime env)."""

    def __init__(self, tracking_uri: str, experiment: str, redact: list[str]):
        self.store = TraceStore(tracking_uri, experiment, redact)
        self.store.experiment_id  # noqa: B018 - connect while the first trials run

    def write(self, records: list[TrialRecord]) -> set[str]:
        return self.store.write(records)


def shared_store(tracking_uri: str) -> bool:
    """Whether processes on other machines can write into this store (not a local file)."""
    return tracking_uri.startswith(_SHARED_SCHEMES)


class RayWriters:
    """A write function for `TraceWriter` that stores each batch through the actors."""

    def __init__(self, ray: Any, store: TraceStore, redact: list[str]):
        self._ray = ray
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        remote = ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=3)(_Writer)
        self._actors = [
            remote.remote(store.tracking_uri, store.experiment_name, redact)
            for _ in range(max(MIN_WRITERS, nodes))
        ]

    def __call__(self, records: list[TrialRecord]) -> set[str]:
        """Store `records` split between the actors; the trace ids verified in the store.

        A part whose actor failed is left out of the ids (the run's writer retries it), and
        when every part failed, the first failure is raised (the writer retries the batch).
        """
        count = len(self._actors)
        parts = [(actor, records[i::count]) for i, actor in enumerate(self._actors)]
        calls = [actor.write.remote(part) for actor, part in parts if part]
        landed: set[str] = set()
        failure: Exception | None = None
        for call in calls:
            try:
                landed |= self._ray.get(call)
            except Exception as exc:  # the actor's store failed, or the actor died for good
                failure = failure or exc
        if failure is not None and not landed:
            raise failure
        return landed

    def close(self) -> None:
        """Stop the actors (everything handed to them has been written and verified)."""
        for actor in self._actors:
            self._ray.kill(actor)
