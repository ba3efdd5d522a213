"""Adapter for a Python callable: `pkg.module:function`, `pkg.module:Class` (with __call__) or
`pkg.module:Class.method`.

The callable receives an AgentContext and returns its reply (text or any JSON-ready value); an
`async def` callable (or one returning an awaitable) is awaited. A class is instantiated once
per trial, so per-conversation state lives on the instance; an object with a `costar_trial()`
method (the framework adapters of costar.frameworks) gives the callable for each trial. Tool
calls made through `costar.tool` are recorded into the trial's trace, and so are model calls
through `costar.llm`: importing this module installs costar.traces' call observer in costar.llm
(the model interface records nothing itself), so the harness, and a production agent written
against AgentContext, have it.

Each trial gets one thread, created on its first turn and used for every turn (and for creating
the instance), with an event loop of its own set for sync code that drives one (the OpenAI
Agents SDK's `Runner.run_sync`). Coroutines (async agents and the framework adapters) are awaited
on one event loop the run's trials share, as in any async application: the HTTP clients that
frameworks keep in module globals are bound to the first loop that uses them, so a loop per trial
would break the second trial. Either way a trial's objects (sessions, locks, clients) see the
same loop on every turn. The harness enforces the timeout by waiting; a timed-out coroutine is
cancelled, while Python cannot kill a thread, so a timed-out sync agent is recorded as `timeout`
and left to finish in the background. What the agent prints on
stdout and stderr is captured per trial (see costar.agents._capture) into the trace.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import inspect
import queue
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from costar._exceptions import AgentError, AgentTimeout, ConfigError
from costar.agents._capture import Capture, capturing
from costar.agents._context import AgentContext, TurnResult
from costar.llm import add_call_observer
from costar.traces import Recorder, record_llm_call, recording

add_call_observer(record_llm_call)  # a chat call inside a trial is one of its CHAT_MODEL spans

TRACEBACK_CAP = 20_000
_shared: dict[str, asyncio.AbstractEventLoop] = {}
_shared_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    """The event loop (on its own daemon thread) where in-process agents' coroutines run."""
    with _shared_lock:
        if "loop" not in _shared:
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, daemon=True, name="costar-async").start()
            _shared["loop"] = loop
        return _shared["loop"]


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
    if not callable(target) and not hasattr(target, "costar_trial"):
        raise ConfigError(f"agent {spec!r}: {attr} is not callable")
    return target


def _owner_class(spec: str, root: Path) -> type | None:
    """For `module:Class.method` with a plain function `method`: the class to instantiate."""
    module_name, _, attr = spec.partition(":")
    if "." not in attr:
        return None
    owner = load_object(f"{module_name}:{attr.rsplit('.', 1)[0]}", root)
    method = inspect.getattr_static(owner, attr.rsplit(".", 1)[1], None)
    if inspect.isclass(owner) and inspect.isfunction(method):
        return owner
    return None


class PythonAgent:
    """Runs a Python callable in-process."""

    def __init__(self, spec: str, root: Path, autolog: list[str] | None = None):
        self.spec = spec
        self.target = load_object(spec, root)
        self.autolog = bool(autolog)
        if autolog:
            from costar.traces import enable_autolog

            enable_autolog(root, autolog)
        self._owner = _owner_class(spec, root)
        self._is_class = inspect.isclass(self.target)
        source = self._owner or self.target
        if not (inspect.isclass(source) or inspect.isroutine(source)):
            source = type(source)  # an adapter instance: its class's file
        self.source_file = inspect.getsourcefile(source)

    def _make(self) -> Callable[[AgentContext], Any]:
        if hasattr(self.target, "costar_trial") and not self._is_class:
            return self.target.costar_trial()  # an adapter
        if self._owner is not None:
            return getattr(self._owner(), self.target.__name__)
        return self.target() if self._is_class else self.target

    def open_trial(self) -> _PythonSession:
        return _PythonSession(self.spec, self._make, self.autolog)


class _PythonSession:
    """One trial: a thread with its own event loop runs the instance's every turn."""

    def __init__(self, spec: str, make: Callable[[], Any], autolog: bool = False):
        self._spec = spec
        self._make = make
        self._instance: Any = None
        self._autolog = autolog
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._context = contextvars.copy_context()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            while (job := self._jobs.get()) is not None:
                job(loop)
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def close(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)  # a turn still running (timed out) ends the loop after it

    def _turn(self, ctx: AgentContext, recorder: Recorder, box: dict[str, Any]) -> Any:
        def job(loop: asyncio.AbstractEventLoop) -> None:
            out, err = Capture(), Capture()
            try:
                with recording(recorder), capturing(out, err):
                    if self._instance is None:
                        try:
                            self._instance = self._make()
                        except Exception as exc:
                            raise _CreateError(exc) from exc

                    def call() -> Any:
                        result = self._instance(ctx)
                        if inspect.isawaitable(result):
                            future = asyncio.run_coroutine_threadsafe(
                                _awaited(result), shared_loop()
                            )  # the task runs in a copy of this context: recorder, capture
                            box["future"] = future
                            result = future.result()
                        return result

                    if self._autolog:
                        from costar.traces import autolog_captured

                        box["output"] = autolog_captured(call, recorder)
                    else:
                        box["output"] = call()
            except BaseException as exc:  # the agent's failure is data, not a crash
                box["error"] = exc
            finally:
                box["stdout"], box["stderr"] = out.text(), err.text()
                box["done"].set()

        return job

    def run_turn(
        self, ctx: AgentContext, recorder: Recorder, timeout: float, cancel: threading.Event
    ) -> TurnResult:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._context.run, args=(self._serve,), daemon=True, name="costar-agent"
            )
            self._thread.start()
        box: dict[str, Any] = {"done": threading.Event()}
        self._jobs.put(self._turn(ctx, recorder, box))
        if not box["done"].wait(timeout):
            if "future" in box:
                box["future"].cancel()
            raise AgentTimeout(f"agent did not answer within {timeout:g} s")
        if "error" in box:
            raise _agent_error(self._spec, box["error"], box["stdout"], box["stderr"])
        return TurnResult(output=box.get("output"), stderr=box["stderr"], stdout=box["stdout"])


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class _CreateError(Exception):
    """Creating the agent's instance failed."""


def _agent_error(
    spec: str, exc: BaseException, stdout: str | None, stderr: str | None
) -> AgentError:
    created = isinstance(exc, _CreateError)
    cause = exc.__cause__ if created and exc.__cause__ is not None else exc
    message = f"{type(cause).__name__}: {cause}"
    error = AgentError(f"creating {spec} failed: {message}" if created else message)
    stack = "".join(traceback.format_exception(cause))
    if len(stack) > TRACEBACK_CAP:
        stack = stack[:2_000] + "\n...[costar: cut]...\n" + stack[-(TRACEBACK_CAP - 2_000) :]
    error.exception = {  # type: ignore[attr-defined]
        "type": f"{type(cause).__module__}.{type(cause).__qualname__}",
        "message": str(cause),
        "stacktrace": stack,
    }
    error.stdout, error.stderr = stdout, stderr  # type: ignore[attr-defined]
    error.__cause__ = cause
    return error
