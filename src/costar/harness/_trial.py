"""Run one trial: build the workspace, play the user's turns, snapshot the final state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costar._exceptions import AgentError, AgentTimeout
from costar.agents import Agent, AgentContext
from costar.harness._simulator import Simulator
from costar.scenarios import LoadedScenario, SetupError, build_workspace, snapshot_state
from costar.traces import Recorder, TrialRecord, Turn, new_span_id


@dataclass
class TrialOptions:
    """How each trial runs."""

    run_id: str
    timeout: float
    setup_timeout: float
    workspace_dir: Path | None
    keep_workspaces: bool
    tags: dict[str, str]
    workspaces: set[Path] = field(default_factory=set)  # of trials still running
    simulator_model: str | None = None  # the project's; see costar.harness._simulator
    replay: Any = None  # a ReplayBook (costar run --replay): recorded results served
    env: dict[str, str] = field(default_factory=dict)  # for every trial (COSTAR_MCP_<NAME>)


def run_trial(
    item: LoadedScenario,
    trial: int,
    agent: Agent,
    options: TrialOptions,
    cancel: threading.Event,
) -> TrialRecord | None:
    """One trial as a TrialRecord; None when it was cancelled before finishing (Ctrl-C).

    Agent failures (crash, timeout, unreadable reply), setup failures and costar's own failures
    to run the agent are recorded in the record's status and error; they never raise. The
    workspace is removed whatever happens (unless kept on purpose).
    """
    scenario = item.scenario
    start = time.time_ns()
    deadline = time.monotonic() + options.timeout
    record = TrialRecord(
        run_id=options.run_id,
        scenario_id=scenario.id,
        trial=trial,
        status="ok",
        turns=[Turn(user=text) for text in scenario.turns],
        start_ns=start,
        end_ns=start,
        tags=dict(options.tags),
        root_span_id=new_span_id(),
    )
    try:
        workspace = build_workspace(item, options.workspace_dir, options.setup_timeout)
    except SetupError as exc:
        record.status, record.error = "error", f"setup failed: {exc}"
        record.end_ns = time.time_ns()
        return record
    options.workspaces.add(workspace.path)
    multi = len(record.turns) > 1
    recorder = Recorder()
    replay = options.replay.trial(scenario.id, trial) if options.replay is not None else None
    recorder.replay = replay
    env = {**workspace.env, **options.env, **(replay.env() if replay is not None else {})}
    stderr_parts: list[str] = []
    stdout_parts: list[str] = []
    history: list[dict[str, object]] = []
    session = None
    try:
        session = agent.open_trial()
        turns: Iterable[Turn] = record.turns
        sim = None
        if scenario.user is not None:  # asked for one at a time, after each reply
            sim = Simulator(scenario, trial, record, recorder, cancel, options.simulator_model)
            turns = sim.turns()
        for index, turn in enumerate(turns):
            turn.span_id = new_span_id()
            recorder.default_parent = turn.span_id  # every step hangs under its turn
            turn.start_ns = time.time_ns()
            ctx = AgentContext(
                input=turn.user,
                history=list(history),
                workspace=workspace.path,
                scenario_id=scenario.id,
                trial=trial,
                turn=index,
                description=scenario.description,
                tags=list(scenario.tags),
                env=env,
            )
            remaining = deadline - time.monotonic() + (sim.seconds if sim else 0.0)
            try:
                if remaining <= 0:
                    raise AgentTimeout(f"no time left for turn {index + 1} (timeout)")
                result = session.run_turn(ctx, recorder, remaining, cancel)
            except AgentError as exc:
                turn.end_ns = time.time_ns()
                turn.error = str(exc)
                turn.reply = getattr(exc, "output", None)
                if stderr := getattr(exc, "stderr", None):
                    stderr_parts.append(stderr)
                if stdout := getattr(exc, "stdout", None):
                    stdout_parts.append(stdout)
                record.exception = getattr(exc, "exception", None)
                if cancel.is_set():
                    return None
                record.status, record.error = exc.status, str(exc)  # type: ignore[assignment]
                if multi and index < len(record.turns) - 1:
                    record.error += (
                        f" (turn {index + 1} of {len(record.turns)}; later turns not run)"
                    )
                break
            turn.end_ns = time.time_ns()
            turn.reply = result.output
            if result.stderr:
                stderr_parts.append(result.stderr)
            if result.stdout:
                stdout_parts.append(result.stdout)
            history += [
                {"role": "user", "content": turn.user},
                {"role": "assistant", "content": result.output},
            ]
        if cancel.is_set() and record.status != "ok":
            return None
        record.snapshot = snapshot_state(workspace.path)
    except AgentError as exc:  # the agent could not even start
        record.status, record.error = exc.status, str(exc)  # type: ignore[assignment]
    except Exception as exc:  # costar could not run it (a value the OS refuses, a bug)
        if cancel.is_set():
            return None
        record.status = "error"
        record.error = f"costar could not run the agent: {type(exc).__name__}: {exc}"
    finally:
        try:
            if session is not None:
                session.close()
        finally:
            if not options.keep_workspaces:
                workspace.remove()
            options.workspaces.discard(workspace.path)
    if options.keep_workspaces:
        record.tags["costar.workspace"] = str(workspace.path)
    record.spans = recorder.spans
    if replay is not None:
        replay.finish(record.spans, record.tags)
    record.stderr = "\n".join(stderr_parts)[-20_000:] or None
    record.stdout = "\n".join(stdout_parts)[-20_000:] or None
    record.end_ns = time.time_ns()
    return record
