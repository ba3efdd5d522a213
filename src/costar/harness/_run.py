"""Run a suite: scenarios x trials, concurrently, each trial recorded as one trace.

Trials run on an executor (`_executors`: daemon threads by default, or Ray tasks); finished
trials go to a background writer that stores them in verified batches while others still run
(on Ray, through writer actors).
Ctrl-C or SIGTERM stops starting trials, kills running command agents, writes everything
finished and marks the run KILLED; `resume` later runs only the trials that have no trace.
Trials the store would not take go to a spill file that `resume` loads back first.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from costar._exceptions import ConfigError, CostarError, NotFoundError, StoreError
from costar._signals import signals_set
from costar.agents import Agent, PythonAgent, resolve_agent
from costar.config import Project, Settings, given_flags
from costar.harness._deps import MAX_TRACE_TAG, encode, manifest
from costar.harness._deps import RUN_TAG as DEPS_RUN_TAG
from costar.harness._deps import TRACE_TAG as DEPS_TRACE_TAG
from costar.harness._executors import AgentSpec, Executor, make_executor
from costar.harness._mcp_proxy import proxy_env
from costar.harness._replay import REPLAY_TAG, ReplayBook, ReplayConfig
from costar.harness._simulator import simulator_model
from costar.harness._trial import TrialOptions
from costar.harness._version import agent_version
from costar.scenarios import LoadedScenario, Suite, load_suite
from costar.traces import (
    DRAFTS_PARAM,
    SUITE_TAG,
    TraceStore,
    TraceWriter,
    TrialRecord,
    WriterProcess,
    load_spill,
    record_to_json,
    run_manifest,
    start_writer_process,
    suite_label,
)

Progress = Callable[[int, int, TrialRecord | None], None]


class RunConfig(BaseModel):
    """Everything `costar run` needs; built from settings and flags."""

    root: Path = Field(description="Project root.")
    suite: Path = Field(description="Suite folder (absolute).")
    agent: str | None = Field(None, description="Agent spec.")
    tags: list[str] = Field(default_factory=list, description="Run scenarios with any of these.")
    scenarios: list[str] = Field(default_factory=list, description="Scenario ids or globs.")
    trials: int = Field(1, ge=1)
    concurrency: int = Field(4, ge=1)
    timeout: float = Field(120.0, gt=0)
    setup_timeout: float = Field(60.0, gt=0)
    keep_workspaces: bool = False
    workspace_dir: Path | None = None
    tracking_uri: str
    experiment: str = "costar"
    agent_files: list[str] = Field(default_factory=list)
    autolog: list[str] = Field(
        default_factory=list, description="MLflow autolog flavours for Python agents."
    )
    resume: str | None = Field(None, description="Run id to resume.")
    name: str | None = Field(None, description="Run name shown in the MLflow UI.")
    dependencies: list[str] = Field(default_factory=list, description="Python packages to record.")
    mcp_servers: dict[str, str] = Field(default_factory=dict, description="MCP servers to record.")
    allow_outside_fixtures: bool = Field(
        False, description="Fixture paths may point outside the suite folder."
    )
    redact: list[str] = Field(default_factory=list, description="Extra secret patterns.")
    only_failed: str | None = Field(
        None, description="The run whose failed scenarios this run re-runs (recorded as a tag)."
    )
    include_drafts: bool = Field(
        False, description="Also run draft scenarios (they are never gated; see DRAFTS_PARAM)."
    )
    simulator_model: str | None = Field(
        None, description="Model of simulated users (`user:` scenarios); default the judge model."
    )
    replay: ReplayConfig | None = Field(
        None, description="Serve recorded tool results of an earlier run (costar run --replay)."
    )
    executor: str = Field("local", description="Where trials run: local (threads) or ray.")
    address: str | None = Field(None, description="Ray cluster address (default: start one).")

    @classmethod
    def from_settings(cls, settings: Settings, **flags: Any) -> RunConfig:
        """A RunConfig from Settings plus flags (None means "not given")."""
        values = given_flags(flags)
        suite = settings.resolve(values.pop("suite", None) or settings.suite)
        try:
            return cls(
                root=settings.root,
                suite=suite,
                # a resumed run keeps its own agent unless --agent says otherwise
                agent=values.pop("agent", None if values.get("resume") else settings.agent),
                trials=values.pop("trials", settings.trials),
                concurrency=values.pop("concurrency", settings.concurrency),
                timeout=values.pop("timeout", settings.timeout),
                setup_timeout=settings.setup_timeout,
                workspace_dir=settings.resolve(settings.workspace_dir)
                if settings.workspace_dir
                else None,
                tracking_uri=settings.store_uri(),
                experiment=settings.experiment,
                agent_files=settings.agent_files,
                autolog=settings.autolog,
                dependencies=settings.dependencies,
                mcp_servers=settings.mcp_servers,
                allow_outside_fixtures=settings.allow_outside_fixtures,
                redact=settings.redact,
                executor=values.pop("executor", settings.executor),
                address=values.pop("address", settings.ray_address),
                simulator_model=settings.simulator_model,
                **values,
            )
        except ValueError as exc:
            raise ConfigError(f"invalid run options: {exc}") from exc


ONLY_FAILED_TAG = "costar.only_failed"
# fewer trials than this are written by the run's own writer thread: a writer process costs
# about 30 ms to start and warm, which runs of an instant agent this small do not win back
PROCESS_WRITER_TRIALS = 100


@dataclass
class RunSummary:
    """What a run did; printed at the end of `costar run` (and as JSON with --json)."""

    run_id: str
    status: str  # finished | interrupted
    planned: int
    skipped: int
    ok: int = 0
    error: int = 0
    timeout: int = 0
    recovered: int = 0  # spilled by an earlier part of a resumed run, submitted again
    written: int = 0
    spilled: int = 0
    spill_path: str | None = None
    unsaved: int = 0  # neither written nor spilled: named in unsaved_trials, exit code 3
    unsaved_trials: list[str] = field(default_factory=list)
    unsaved_error: str | None = None
    cancelled: int = 0  # stopped or never started because of an interruption
    store_error: str | None = None
    wall_seconds: float = 0.0
    write_seconds: float = 0.0  # the writer's time storing and verifying traces
    writer: str = "thread"  # what stored the traces: process (a writer process), thread, ray
    writer_note: str | None = None  # why the writer process stopped early, if it did
    executor: str = "local"  # where the trials ran: local or ray
    agent: str = ""
    agent_version: str = ""
    suite_hash: str = ""
    tracking_uri: str = ""
    experiment_id: str = ""
    scenarios: int = 0
    drafts_skipped: int = 0  # draft scenarios left out (no --include-drafts)
    by_scenario: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)  # trials in error or timeout

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _spill_path(config: RunConfig, run_id: str) -> Path:
    return Project.at(config.root).unsaved_dir / f"{run_id}.jsonl"


def _params(config: RunConfig, suite: Suite, version: str) -> dict[str, Any]:
    return {
        "suite": str(config.suite),
        "agent": config.agent,
        "trials": config.trials,
        "tags": json.dumps(config.tags),
        "scenarios": json.dumps(config.scenarios),
        "timeout": config.timeout,
        "concurrency": config.concurrency,
        "scenario_count": len(suite.scenarios),
        "suite_hash": suite.hash(),
        "agent_version": version,
        "include_drafts": config.include_drafts,
        DRAFTS_PARAM: json.dumps(sorted(s.id for s in suite.scenarios if s.scenario.draft)),
    }


def _resume_config(config: RunConfig, store: TraceStore) -> tuple[RunConfig, str]:
    run = store.get_run(config.resume or "")
    p = run.params
    if "suite" not in p:
        raise NotFoundError(f"run {run.run_id} was not made by `costar run`; nothing to resume")
    resumed = config.model_copy(
        update={
            "suite": Path(p["suite"]),
            "agent": config.agent or p.get("agent"),
            "trials": int(p.get("trials", 1)),
            "tags": json.loads(p.get("tags", "[]")),
            "scenarios": json.loads(p.get("scenarios", "[]")),
            "timeout": float(p.get("timeout", config.timeout)),
            "include_drafts": p.get("include_drafts") == "True",
        }
    )
    return resumed, run.run_id


def _plan(
    suite: Suite, trials: int, done: set[tuple[str, int]]
) -> list[tuple[LoadedScenario, int]]:
    return [
        (item, t) for item in suite.scenarios for t in range(trials) if (item.id, t) not in done
    ]


def _recover_spill(spill: Path, store: TraceStore) -> list[TrialRecord]:
    """Trials an earlier part of the run spilled and the store does not hold yet."""
    by_id = {r.trace_id: r for r in load_spill(spill)}
    landed = store.existing_trace_ids(list(by_id)) if by_id else set()
    return [r for trace_id, r in by_id.items() if trace_id not in landed]


def _prune_spill(spill: Path, store: TraceStore) -> None:
    """Drop from the spill file the trials that are in the store now; remove it when empty."""
    try:
        left = _recover_spill(spill, store)
        if not left:
            spill.unlink(missing_ok=True)
            return
        tmp = spill.with_name(spill.name + ".tmp")
        tmp.write_text("".join(record_to_json(r) + "\n" for r in left), encoding="utf-8")
        os.replace(tmp, spill)
    except (CostarError, OSError):
        pass  # the file stays as it is; loading it again skips what the store holds


def run_suite(config: RunConfig, progress: Progress | None = None) -> RunSummary:
    """Run the suite against the agent and record every trial; see the module docstring.

    Every planned trial ends in exactly one place: `planned + recovered == written + spilled +
    unsaved + cancelled` (cancelled only when interrupted; `--resume` runs those).
    """
    started = time.monotonic()
    store = TraceStore(config.tracking_uri, config.experiment, config.redact)
    run_id: str | None = None
    if config.resume:
        config, run_id = _resume_config(config, store)
    suite = load_suite(
        config.suite,
        config.tags or None,
        config.scenarios or None,
        config.allow_outside_fixtures,
        include_drafts=config.include_drafts,
    )
    for user in [s.scenario.user for s in suite.scenarios if s.scenario.user]:
        simulator_model(user.model, config.simulator_model)  # a ConfigError before any trial
    agent = resolve_agent(config.agent, config.root, config.autolog)
    extra = (
        [Path(agent.source_file)] if isinstance(agent, PythonAgent) and agent.source_file else []
    )
    version = agent_version(config.root, config.agent_files, extra)
    ids = {s.id for s in suite.scenarios}
    if config.replay and config.executor != "local":
        # the replay book serves recordings from this process; workers elsewhere cannot reach it
        raise ConfigError(
            f"--replay runs on the local executor only, not {config.executor!r}; "
            "drop --executor (or set executor = 'local') to replay"
        )
    book = ReplayBook(config.replay, store, ids) if config.replay else None  # before the run
    executor = make_executor(config.executor, config.concurrency, config.address)

    deps: dict[str, Any] = {}
    if run_id is None:
        deps = manifest(config.dependencies, config.mcp_servers, config.root)
        tags = {
            "costar.kind": "run",
            "costar.agent_version": version,
            SUITE_TAG: suite_label(config.suite, config.root),
        }
        if deps:
            tags[DEPS_RUN_TAG] = encode(deps, 7900)
        if config.only_failed:
            tags[ONLY_FAILED_TAG] = config.only_failed
        if book is not None:
            tags[REPLAY_TAG] = book.config.run_id
        run_id = store.create_run(
            config.name or f"{suite.root.name}", _params(config, suite, version), tags=tags
        )
    else:
        store.reopen_run(run_id)
        deps = run_manifest(store.get_run(run_id))  # a resumed run records what it recorded
    cancel = threading.Event()
    with signals_set(cancel):
        summary = _record(
            config, store, suite, agent, executor, version, deps, run_id, cancel, progress, book
        )
    summary.wall_seconds = round(time.monotonic() - started, 3)
    return summary


def _record(
    config: RunConfig,
    store: TraceStore,
    suite: Suite,
    agent: Agent,
    executor: Executor,
    version: str,
    deps: dict[str, Any],
    run_id: str,
    cancel: threading.Event,
    progress: Progress | None,
    book: ReplayBook | None = None,
) -> RunSummary:
    spill = _spill_path(config, run_id)
    leftovers = _recover_spill(spill, store) if config.resume else []
    done = {(row.scenario_id, row.trial) for row in store.run_traces(run_id)}
    plan = _plan(suite, config.trials, done | {(r.scenario_id, r.trial) for r in leftovers})
    process = _writer_process(store, executor, len(plan) + len(leftovers), config.concurrency)
    summary = RunSummary(
        run_id=run_id,
        status="finished",
        planned=len(plan),
        skipped=len(done),
        recovered=len(leftovers),
        agent=config.agent or "",
        agent_version=version,
        suite_hash=suite.hash(),
        tracking_uri=config.tracking_uri,
        experiment_id=store.experiment_id,
        scenarios=len(suite.scenarios),
        drafts_skipped=suite.drafts_skipped,
        executor=executor.name,
    )
    options = TrialOptions(
        run_id=run_id,
        timeout=config.timeout,
        setup_timeout=config.setup_timeout,
        workspace_dir=config.workspace_dir,
        keep_workspaces=config.keep_workspaces,
        tags={"costar.agent_version": version, "costar.suite_hash": summary.suite_hash},
        simulator_model=config.simulator_model,
    )
    if deps:
        options.tags[DEPS_TRACE_TAG] = encode(deps, MAX_TRACE_TAG)
    options.replay = book
    options.env = proxy_env(config.mcp_servers, config.root)  # MCP calls recorded, replayable
    spec = AgentSpec(config.agent, config.root, config.autolog)
    try:
        with executor.session(spec):
            write = executor.write_fn(store, config.redact)  # Ray: writer actors store them
            summary.writer = "thread" if write is None else executor.name
            if write is None and process is not None:
                write, summary.writer = process.write, "process"
            writer = TraceWriter(
                write or store.write,
                spill,
                redact=store.redactor.value,
                prepare=None if write else store.prepare,  # converted where it is stored
            )
            for left in leftovers:
                writer.submit(left)
            jobs = executor.run(plan, agent, spec, options, cancel)
            for finished, record in enumerate(jobs, 1):
                if record is not None:
                    _count(summary, record)
                    writer.submit(record)
                if progress and not executor.interrupted:
                    progress(finished, len(plan), record)
            if executor.interrupted:  # SIGINT or SIGTERM
                summary.status = "interrupted"
                for path in list(options.workspaces):  # of in-process agents that would not stop
                    shutil.rmtree(path, ignore_errors=True)
            _close_writer(writer, summary)
    finally:
        if process is not None:  # after the writer: it finished every batch first
            process.close()
            summary.writer_note = process.died
    if options.replay is not None:
        options.replay.close()
    if summary.spilled or leftovers:
        _prune_spill(spill, store)
    try:
        store.finish_run(
            run_id,
            "FINISHED" if summary.status == "finished" else "KILLED",
            {
                "trials_ok": summary.ok,
                "trials_error": summary.error,
                "trials_timeout": summary.timeout,
                "traces_written": summary.written,
            },
        )
    except StoreError as exc:
        summary.store_error = summary.store_error or str(exc)
    return summary


def _writer_process(
    store: TraceStore, executor: Executor, trials: int, concurrency: int
) -> WriterProcess | None:
    """A writer process when writes would compete with running trials for this process's
    GIL: trials in threads here (the local executor), more of them than run at once, and enough
    that the writes outweigh the fork. Started before any trial thread (it is forked); None
    where the writer thread writes."""
    if executor.name != "local" or trials <= concurrency or trials < PROCESS_WRITER_TRIALS:
        return None
    return start_writer_process(store)


def _close_writer(writer: TraceWriter, summary: RunSummary) -> None:
    report = writer.close()
    summary.written = len(report.written)
    summary.write_seconds = round(report.seconds, 3)
    summary.spilled = report.spilled
    summary.spill_path = str(report.spill_path) if report.spilled else None
    summary.unsaved = len(report.unsaved)
    summary.unsaved_trials = [f"{r.scenario_id}#{r.trial}" for r in report.unsaved]
    summary.unsaved_error = report.unsaved_error
    summary.cancelled = (
        summary.planned + summary.recovered - summary.written - summary.spilled - summary.unsaved
    )
    if report.spilled or report.unsaved:
        summary.store_error = report.last_error


def _count(summary: RunSummary, record: TrialRecord) -> None:
    setattr(summary, record.status, getattr(summary, record.status) + 1)
    per = summary.by_scenario.setdefault(record.scenario_id, {"ok": 0, "error": 0, "timeout": 0})
    per[record.status] += 1
    if record.status != "ok":
        summary.failures.append(
            {
                "scenario_id": record.scenario_id,
                "trial": record.trial,
                "status": record.status,
                "error": record.error,
                "trace_id": record.trace_id,
            }
        )
