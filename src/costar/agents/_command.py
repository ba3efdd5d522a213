"""Adapter for a command: any program, in any language, run once per user turn.

The command runs in the trial's workspace, in its own process group. It reads the turn as JSON
on stdin (input, history, workspace, scenario, trial, turn), prints its reply as JSON on stdout
(`{"output": ...}`, or any JSON value taken as the output), and may write steps to the event
file named by `COSTAR_EVENTS` (see costar.agents._events) or export OpenTelemetry spans to the
trial's collector named by `OTEL_EXPORTER_OTLP_ENDPOINT` (see costar.agents._otlp). stderr is
kept in the trace.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import costar._protocol as protocol
from costar._exceptions import AgentError, AgentProtocolError, AgentTimeout
from costar._proc import run_process
from costar.agents._context import AgentContext, TurnResult
from costar.agents._events import EventFile
from costar.agents._otlp import OtlpCollector
from costar.traces import Recorder, to_records

STDOUT_CAP = 1_000_000


class CommandAgent:
    """Runs a command per turn; the command's words that name project files become absolute."""

    def __init__(self, command: str, root: Path, cap: int = STDOUT_CAP):
        self.spec = f"cmd:{command}"
        words = shlex.split(command)
        # abspath, not resolve: a venv's python is a symlink that must stay the venv's
        self.argv = [
            os.path.abspath(root / w) if not os.path.isabs(w) and (root / w).exists() else w
            for w in words
        ]
        self.cap = cap

    def open_trial(self) -> _CommandSession:
        return _CommandSession(self.argv, self.cap)


class _CommandSession:
    """One trial: its own event file (outside the workspace, so it is not in the snapshot)."""

    def __init__(self, argv: list[str], cap: int):
        self.argv, self.cap = argv, cap
        self._event_dir = Path(tempfile.mkdtemp(prefix="costar-events-"))
        self._events = EventFile(self._event_dir / "events.jsonl")
        self._otlp = OtlpCollector()

    def run_turn(
        self, ctx: AgentContext, recorder: Recorder, timeout: float, cancel: threading.Event
    ) -> TurnResult:
        env = {**ctx.env, **self._otlp.env(), protocol.EVENTS: str(self._events.path)}
        result = run_process(
            self.argv,
            cwd=ctx.workspace,
            env=env,
            timeout=timeout,
            stdin=json.dumps(ctx.to_json()).encode(),
            cap=self.cap,
            cancel=cancel,
        )
        for span in self._events.read_new(recorder.default_parent):
            recorder.add(span)
        for span in to_records(self._otlp.drain(), recorder.default_parent):
            recorder.add(span)
        stderr = result.stderr_text or None
        if result.timed_out:
            raise _with_stderr(AgentTimeout(f"killed after {timeout:g} s (timeout)"), stderr)
        if result.cancelled:
            raise _with_stderr(AgentError("cancelled (interrupted)"), stderr)
        if result.returncode != 0:
            last = (stderr or "").strip().splitlines()[-1:] or [""]
            detail = f": {last[0][:300]}" if last[0] else ""
            raise _with_stderr(
                AgentError(f"agent exited with code {result.returncode}{detail}"), stderr
            )
        output = _parse_reply(result.stdout, result.stdout_dropped, stderr)
        return TurnResult(output=output, stderr=stderr)

    def close(self) -> None:
        self._otlp.close()
        shutil.rmtree(self._event_dir, ignore_errors=True)


def _with_stderr(exc: AgentError, stderr: str | None) -> AgentError:
    exc.stderr = stderr  # type: ignore[attr-defined]
    return exc


def _parse_reply(stdout: bytes, dropped: int, stderr: str | None) -> Any:
    if dropped:
        exc = AgentProtocolError(
            f"stdout was {len(stdout) + dropped} bytes, over the {len(stdout)}-byte cap "
            "(reply kept truncated in the trace)"
        )
        exc.output = (  # type: ignore[attr-defined]
            stdout[:10_000].decode("utf-8", "replace")
            + f"...[costar: truncated, {len(stdout) + dropped} bytes in all]"
        )
        raise _with_stderr(exc, stderr)
    text = stdout.decode("utf-8", errors="replace").strip()
    if not text:
        raise _with_stderr(AgentProtocolError("agent printed nothing on stdout"), stderr)
    try:
        reply = json.loads(text)
    except json.JSONDecodeError:
        raise _with_stderr(
            AgentProtocolError(f"stdout is not JSON: {text[:300]!r}"), stderr
        ) from None
    if isinstance(reply, dict) and "output" in reply:
        return reply["output"]
    return reply
