"""Adapter for a Python callable: `pkg.module:function` or `pkg.module:Class` (with __call__).

The callable receives an AgentContext and returns its reply (text or any JSON-ready value).
A class is instantiated once per trial, so per-conversation state lives on the instance.
Tool calls made through `costar.tool` are recorded into the trial's trace.

The agent runs in its own thread so the harness can enforce the timeout; Python cannot kill a
thread, so a timed-out agent is recorded as `timeout` and left to finish in the background.
"""

from __future__ import annotations

import contextvars
import importlib
import inspect
import sys
import threading
from pathlib import Path
from typing import Any

from costar._exceptions import AgentError, AgentTimeout, ConfigError
from costar.agents._context import AgentContext, TurnResult
from costar.traces import Recorder, recording


def load_object(spec: str, root: Path) -> Any:
    """Import `pkg.module:attr` with the project root on sys.path."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"agent {spec!r}: expected 'package.module:function'")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(f"agent {spec!r}: cannot import {module_name}: {exc}") from exc
    target: Any = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"agent {spec!r}: {module_name} has no attribute {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"agent {spec!r}: {attr} is not callable")
    return target


class PythonAgent:
    """Runs a Python callable in-process."""

    def __init__(self, spec: str, root: Path, autolog: list[str] | None = None):
        self.spec = spec
        self.target = load_object(spec, root)
        self.autolog = bool(autolog)
        if autolog:
            from costar.agents import _autolog

            _autolog.enable(root, autolog)
        self._is_class = inspect.isclass(self.target)
        self.source_file = inspect.getsourcefile(self.target)

    def open_trial(self) -> _PythonSession:
        try:
            instance = self.target() if self._is_class else self.target
        except Exception as exc:
            raise AgentError(f"creating {self.spec} failed: {type(exc).__name__}: {exc}") from exc
        return _PythonSession(instance, self.autolog)


class _PythonSession:
    def __init__(self, instance: Any, autolog: bool = False):
        self._instance = instance
        self._autolog = autolog

    def close(self) -> None:
        pass

    def run_turn(
        self, ctx: AgentContext, recorder: Recorder, timeout: float, cancel: threading.Event
    ) -> TurnResult:
        box: dict[str, Any] = {}

        def call() -> None:
            with recording(recorder):
                try:
                    if self._autolog:
                        from costar.agents._autolog import captured

                        box["output"] = captured(lambda: self._instance(ctx), recorder)
                    else:
                        box["output"] = self._instance(ctx)
                except BaseException as exc:  # the agent's failure is data, not a crash
                    box["error"] = exc

        context = contextvars.copy_context()
        thread = threading.Thread(target=context.run, args=(call,), daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():
            raise AgentTimeout(f"agent did not answer within {timeout:g} s")
        if "error" in box:
            exc = box["error"]
            raise AgentError(f"{type(exc).__name__}: {exc}") from exc
        return TurnResult(output=box.get("output"))
