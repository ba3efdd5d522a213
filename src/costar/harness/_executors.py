"""Executors: where a run's trials run. `local` (threads in this process, the default) and
`ray` (one Ray task per trial, on a local or remote Ray cluster).

An executor yields each finished trial (None for one cancelled before it finished) to the run,
whose writer alone decides what is written: a trial reaches the writer once, whatever the
executor retried, so a run holds exactly one trace per (scenario, trial). An executor may store
the writer's batches itself (`write_fn`: Ray's writer actors), inside its `session`. User
packages add executors through the `costar.executors` entry point group (a class with the
Executor interface).
"""

from __future__ import annotations

import abc
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from costar._exceptions import ConfigError
from costar.agents import Agent
from costar.harness._trial import TrialOptions, run_trial
from costar.scenarios import LoadedScenario
from costar.traces import TraceStore, TrialRecord, Turn

Job = tuple[LoadedScenario, int]


@dataclass
class AgentSpec:
    """How a worker builds the agent under test itself (agents are not sent between processes)."""

    spec: str | None
    root: Path
    autolog: list[str]


def failed_record(item: LoadedScenario, trial: int, options: TrialOptions, why: str) -> TrialRecord:
    """The record of a trial that costar itself failed to run: an error, never a lost trial."""
    now = time.time_ns()
    return TrialRecord(
        run_id=options.run_id,
        scenario_id=item.id,
        trial=trial,
        status="error",
        turns=[Turn(user=text) for text in item.scenario.turns],
        start_ns=now,
        end_ns=now,
        error=why,
        tags=dict(options.tags),
    )


class Executor(abc.ABC):
    """Runs trials and yields them as they finish; `interrupted` tells whether it stopped early."""

    name = "base"
    interrupted = False

    @contextlib.contextmanager
    def session(self, spec: AgentSpec) -> Iterator[None]:
        """Hold what the run's trials and writes need (Ray: the cluster) for the whole run."""
        yield

    def write_fn(
        self, store: TraceStore, redact: list[str]
    ) -> Callable[[list[TrialRecord]], set[str]] | None:
        """How the writer's batches are stored, inside `session` (None: by `store.write`)."""
        return None

    @abc.abstractmethod
    def run(
        self,
        plan: list[Job],
        agent: Agent,
        spec: AgentSpec,
        options: TrialOptions,
        cancel: threading.Event,
    ) -> Iterator[TrialRecord | None]:
        """Yield each trial's record as it finishes (None for a trial that left none)."""


class LocalExecutor(Executor):
    """Daemon worker threads in this process (a hung in-process agent cannot block exit)."""

    name = "local"

    def __init__(self, concurrency: int, grace: float = 5.0):
        self.concurrency = concurrency
        self.grace = grace

    def run(
        self,
        plan: list[Job],
        agent: Agent,
        spec: AgentSpec,
        options: TrialOptions,
        cancel: threading.Event,
    ) -> Iterator[TrialRecord | None]:
        jobs: queue.Queue[Job] = queue.Queue()
        for job in plan:
            jobs.put(job)
        results: queue.Queue[TrialRecord | None] = queue.Queue()
        workers = [
            threading.Thread(
                target=_worker, args=(jobs, results, agent, options, cancel), daemon=True
            )
            for _ in range(min(self.concurrency, max(1, len(plan))))
        ]
        for w in workers:
            w.start()
        finished = 0
        while finished < len(plan) and not cancel.is_set():
            try:
                record = results.get(timeout=0.1)
            except queue.Empty:
                continue
            finished += 1
            yield record
        if finished < len(plan):  # SIGINT or SIGTERM
            self.interrupted = True
            # keep trials that finish within the grace period, drop the rest
            deadline = time.monotonic() + self.grace
            while time.monotonic() < deadline and any(w.is_alive() for w in workers):
                time.sleep(0.05)
            while True:
                try:
                    yield results.get_nowait()
                except queue.Empty:
                    break


def _worker(
    jobs: queue.Queue[Job],
    results: queue.Queue[TrialRecord | None],
    agent: Agent,
    options: TrialOptions,
    cancel: threading.Event,
) -> None:
    while not cancel.is_set():
        try:
            item, trial = jobs.get_nowait()
        except queue.Empty:
            return
        try:
            record = run_trial(item, trial, agent, options, cancel)
        except Exception as exc:  # a bug in costar itself: record it, keep the run going
            why = f"costar failed running this trial: {type(exc).__name__}: {exc}"
            record = failed_record(item, trial, options, why)
        results.put(record)


EXECUTORS = ("local", "ray")


def make_executor(name: str, concurrency: int, address: str | None = None) -> Executor:
    """The executor called `name` (built in, or from the `costar.executors` entry points)."""
    if name == "local":
        return LocalExecutor(concurrency)
    if name == "ray":
        from costar.harness._ray import RayExecutor

        return RayExecutor(concurrency, address)
    from importlib.metadata import entry_points

    for point in entry_points(group="costar.executors"):
        if point.name == name:
            made: Executor = point.load()(concurrency=concurrency, address=address)
            return made
    raise ConfigError(f"unknown executor {name!r} (choose one of: {', '.join(EXECUTORS)})")
