"""The Ray executor: each (scenario, trial) is one Ray task, retried when its worker dies.

A task only runs the trial and returns its record; the run (the driver) decides what is
written, taking each (scenario, trial) once, and writer actors store it (`_ray_writers`, for a
store every node reaches). So a worker that dies mid-trial leaves nothing behind: Ray runs the
task again on another worker (`max_retries`), and the trial that finishes is the only one
recorded. A trial whose workers died more often than that is recorded as an error trial, never
lost. Settings reach the workers and writers through Ray's runtime environment (`env_vars`):
the COSTAR_*, MLFLOW_* and OPENAI_* variables of the driver, with telemetry off.

Without an address a local Ray is started for the run (one worker per `concurrency`, bound to
127.0.0.1, usage stats off) and stopped after it; with one (`ray://HOST:10001`, `HOST:6379` or
`auto`) the run joins that cluster, whose workers must see the project folder at the same path.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from costar._ray import (
    MAX_RETRIES,
    check_reachable,
    connect,
    disconnect,
    import_ray,
    worker_env,
)
from costar.agents import Agent, resolve_agent
from costar.harness._executors import AgentSpec, Executor, Job, failed_record
from costar.harness._ray_writers import RayWriters, shared_store
from costar.harness._trial import TrialOptions, run_trial
from costar.llm import share_rate_limits
from costar.traces import TraceStore, TrialRecord

_agents: dict[tuple[str | None, str, tuple[str, ...]], Agent] = {}  # one per worker process


def _trial_task(
    item: Any, trial: int, spec: AgentSpec, options: TrialOptions
) -> TrialRecord | None:
    """Runs on a worker: one trial with the agent this worker built (once) from `spec`."""
    key = (spec.spec, str(spec.root), tuple(spec.autolog))
    agent = _agents.get(key)
    if agent is None:
        agent = _agents[key] = resolve_agent(spec.spec, spec.root, spec.autolog)
    try:
        return run_trial(item, trial, agent, options, threading.Event())
    except Exception as exc:  # a bug in costar itself: record it, keep the run going
        why = f"costar failed running this trial: {type(exc).__name__}: {exc}"
        return failed_record(item, trial, options, why)


class RayExecutor(Executor):
    """One Ray task per trial; at most `window` tasks are submitted at once."""

    name = "ray"

    def __init__(self, concurrency: int, address: str | None = None, grace: float = 5.0):
        import_ray(address)  # fails before the run is created when Ray is not installed
        if address:  # ... or when nothing listens at the address
            check_reachable(address)
        self.concurrency = concurrency
        self.address = address
        self.grace = grace
        self._ray: Any = None  # the ray module while in a session
        self._writers: RayWriters | None = None

    @contextlib.contextmanager
    def session(self, spec: AgentSpec) -> Iterator[None]:
        """Join (or start) the cluster for the run; the writer actors stop before it is left."""
        if self._ray is not None:  # already in one
            yield
            return
        ray = import_ray()
        env = worker_env({"PYTHONPATH": _pythonpath(spec)})
        started = connect(self.address, self.concurrency, env)
        if started:  # one set of rate-limit buckets for every worker of this job
            share_rate_limits(env)
        self._ray = ray
        try:
            yield
        finally:
            if self._writers is not None:
                self._writers.close()
                self._writers = None
            self._ray = None
            if started:
                disconnect()

    def write_fn(
        self, store: TraceStore, redact: list[str]
    ) -> Callable[[list[TrialRecord]], set[str]] | None:
        """Writer actors for a store every node can reach; None for a local file."""
        if self._ray is None or not shared_store(store.tracking_uri):
            return None
        self._writers = RayWriters(self._ray, store, redact)
        return self._writers

    def run(
        self,
        plan: list[Job],
        agent: Agent,
        spec: AgentSpec,
        options: TrialOptions,
        cancel: threading.Event,
    ) -> Iterator[TrialRecord | None]:
        with self.session(spec):
            yield from self._run(import_ray(), plan, spec, options, cancel)

    def _run(
        self,
        ray: Any,
        plan: list[Job],
        spec: AgentSpec,
        options: TrialOptions,
        cancel: threading.Event,
    ) -> Iterator[TrialRecord | None]:
        task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES, retry_exceptions=False)(_trial_task)
        cpus = int(ray.cluster_resources().get("CPU", self.concurrency))
        window = max(2 * cpus, self.concurrency, 1)
        spec_ref, options_ref = ray.put(spec), ray.put(options)
        todo = list(reversed(plan))
        running: dict[Any, Job] = {}
        seen: set[tuple[str, int]] = set()
        while (todo or running) and not cancel.is_set():
            while todo and len(running) < window:
                item, trial = todo.pop()
                running[task.remote(item, trial, spec_ref, options_ref)] = (item, trial)
            ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0.1)
            for ref in ready:
                record = self._result(ray, ref, running.pop(ref), options)
                if record is not None and (record.scenario_id, record.trial) in seen:
                    continue  # never twice, whatever the cluster did
                if record is not None:
                    seen.add((record.scenario_id, record.trial))
                yield record
        if todo or running:  # SIGINT or SIGTERM: stop what runs, keep what finished
            self.interrupted = True
            yield from self._stop(ray, running, options)

    def _result(self, ray: Any, ref: Any, job: Job, options: TrialOptions) -> TrialRecord | None:
        try:
            record: TrialRecord | None = ray.get(ref)
            return record
        except ray.exceptions.TaskCancelledError:
            return None
        except ray.exceptions.RayError as exc:  # workers died more often than MAX_RETRIES
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            why = f"costar could not run this trial on Ray ({MAX_RETRIES + 1} tries): {first}"
            return failed_record(job[0], job[1], options, why)

    def _stop(
        self, ray: Any, running: dict[Any, Job], options: TrialOptions
    ) -> Iterator[TrialRecord | None]:
        for ref in running:
            ray.cancel(ref)  # a KeyboardInterrupt in the task: its workspace is removed
        deadline = time.monotonic() + self.grace
        while running and time.monotonic() < deadline:
            ready, _ = ray.wait(list(running), num_returns=len(running), timeout=0.1)
            for ref in ready:
                running.pop(ref)
                try:
                    yield ray.get(ref)  # finished before the stop reached it
                except ray.exceptions.RayError:
                    yield None  # cancelled: left for --resume
        for ref in running:
            ray.cancel(ref, force=True)


def _pythonpath(spec: AgentSpec) -> str:
    parts = [str(spec.root), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return os.pathsep.join(dict.fromkeys(parts))
