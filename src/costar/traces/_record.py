"""costar's own span records, and the recorder Python agents write to through `costar.tool`.

The harness, not MLflow's live tracer, collects spans while an agent runs; the store converts
finished trials to MLflow traces and writes them in batches. So recording never drops a span.
Outside a costar run (in production), a step inside an active MLflow span (the agent's own
`@mlflow.trace` or `mlflow.start_span`) becomes an MLflow span of the same shape, so production
traces read like test traces; with neither, `costar.tool` just runs (no overhead). What such a
step hands to MLflow is redacted first (the built-in secret patterns, see `_redact`).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import json
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


@functools.cache
def _live_redactor() -> Any:
    """The redactor for steps written straight to MLflow (production): built once per process."""
    from costar.traces._redact import Redactor

    return Redactor()


def new_span_id() -> int:
    """A random non-zero 64-bit span id."""
    return random.getrandbits(64) or 1


@dataclass
class SpanRecord:
    """One finished step of a trial: a tool call, an LLM call or any named step."""

    name: str
    span_type: str = "UNKNOWN"  # MLflow span types: AGENT, TOOL, LLM, CHAT_MODEL, CHAIN, ...
    inputs: Any = None
    outputs: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    start_ns: int = field(default_factory=time.time_ns)
    end_ns: int | None = None
    error: str | None = None
    span_id: int = field(default_factory=new_span_id)
    parent_id: int | None = None  # None: a child of the trial's root (or current turn) span


class Recorder:
    """Collects the spans of one trial; safe to use from several threads."""

    def __init__(self, default_parent: int | None = None):
        self._lock = threading.Lock()
        self.spans: list[SpanRecord] = []
        self.default_parent = default_parent
        self.replay: Any = None  # a harness replay plan serving recorded results, or None

    def add(self, span: SpanRecord) -> None:
        with self._lock:
            if span.parent_id is None:
                span.parent_id = self.default_parent
            self.spans.append(span)


_recorder: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "costar_recorder", default=None
)
_parent: contextvars.ContextVar[int | None] = contextvars.ContextVar("costar_parent", default=None)


def current_recorder() -> Recorder | None:
    """The recorder of the trial running in this context, if any."""
    return _recorder.get()


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Bind `recorder` for code run in this context (the harness wraps each agent call)."""
    token = _recorder.set(recorder)
    parent_token = _parent.set(None)
    try:
        yield recorder
    finally:
        _parent.reset(parent_token)
        _recorder.reset(token)


def live_mlflow_span() -> bool:
    """Whether code runs inside an active MLflow span (and no costar recorder): production."""
    mlflow = sys.modules.get("mlflow")
    return (
        _recorder.get() is None
        and mlflow is not None
        and mlflow.get_current_active_span() is not None
    )


class Step:
    """An open span. Set `result` (or `outputs`) before it closes; exceptions are recorded."""

    def __init__(self, name: str, span_type: str, inputs: Any, attributes: dict[str, Any]):
        self.record = SpanRecord(
            name=name, span_type=span_type, inputs=inputs, attributes=attributes
        )
        self._token: contextvars.Token[int | None] | None = None
        self._live: Any = None  # the MLflow span context, in production

    @property
    def result(self) -> Any:
        return self.record.outputs

    @result.setter
    def result(self, value: Any) -> None:
        self.record.outputs = value

    outputs = result

    def set_attribute(self, key: str, value: Any) -> None:
        self.record.attributes[key] = value

    def __enter__(self) -> Step:
        if live_mlflow_span():
            import mlflow

            self._live = mlflow.start_span(self.record.name, span_type=self.record.span_type)
            self._live.__enter__().set_inputs(_live_redactor().value(self.record.inputs))
        self.record.parent_id = _parent.get()
        self._token = _parent.set(self.record.span_id)
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._live is not None:
            import mlflow

            live = mlflow.get_current_active_span()
            if live is not None:
                live.set_outputs(_live_redactor().value(self.record.outputs))
                live.set_attributes(_live_redactor().value(self.record.attributes))
            self._live.__exit__(exc_type, exc, tb)
        if self._token is not None:
            _parent.reset(self._token)
        self.record.end_ns = time.time_ns()
        if exc is not None:
            self.record.error = f"{type(exc).__name__}: {exc}"
        recorder = _recorder.get()
        if recorder is not None:
            recorder.add(self.record)


LIVE = object()  # what `replayed` returns when the step is to run for real


def replayed(step: Step, kind: str) -> Any:
    """The recorded (or substituted) result the trial's replay plan serves for this step
    (`kind` "tool" or "llm"), or LIVE. Raises what the recorded call raised, and a strict
    replay's miss. Outside a replayed trial always LIVE."""
    recorder = _recorder.get()
    plan = recorder.replay if recorder is not None else None
    return LIVE if plan is None else plan.serve(kind, step.record)


def span(name: str, span_type: str = "UNKNOWN", inputs: Any = None, **attributes: Any) -> Step:
    """A context manager that records any named step: `with costar.span("plan"): ...`."""
    return Step(name, span_type, inputs, dict(attributes))


class tool:  # noqa: N801 - used as a decorator, like `property`
    """Record a tool call of the agent under test.

    As a decorator (on a plain or an `async def` function; a coroutine is awaited inside the
    span)::

        @costar.tool
        def lookup_order(order_id: int) -> dict: ...

        @costar.tool(name="refund", exclude=["ctx"])
        async def issue_refund(ctx: RunContextWrapper, order_id: int) -> str: ...

    As a context manager::

        with costar.tool("search", query=q) as call:
            call.result = run_search(q)

    Arguments, the result and any exception (re-raised) are recorded as a TOOL span. In a
    replayed trial (`costar run --replay`) a decorated tool may be served its recorded result
    instead of running; the context-manager form always runs. Arguments
    are recorded as JSON, each value cut at ARG_CAP characters; parameters named in `exclude`,
    `self`/`cls`, and framework context objects (the OpenAI Agents SDK's RunContextWrapper and
    ToolContext, PydanticAI's RunContext, LangChain's callback managers and RunnableConfig,
    costar's AgentContext) are left out.
    """

    def __new__(
        cls,
        target: Any = None,
        /,
        name: str | None = None,
        exclude: list[str] | tuple[str, ...] = (),
        **args: Any,
    ) -> Any:
        if callable(target) and not isinstance(target, str):
            return _wrap_tool(target, name or target.__name__, tuple(exclude))
        self = super().__new__(cls)
        return self

    def __init__(
        self,
        target: Any = None,
        /,
        name: str | None = None,
        exclude: list[str] | tuple[str, ...] = (),
        **args: Any,
    ):
        self.name = name or (target if isinstance(target, str) else None)
        self.exclude = tuple(exclude)
        self.args = args
        self._step: Step | None = None

    def __call__(self, fn: F) -> F:
        return _wrap_tool(fn, self.name or fn.__name__, self.exclude)

    def __enter__(self) -> Step:
        if not self.name:
            raise TypeError("costar.tool used as a context manager needs a name")
        self._step = Step(self.name, "TOOL", tool_arguments(self.args), {})
        return self._step.__enter__()

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        assert self._step is not None
        self._step.__exit__(exc_type, exc, tb)


ARG_CAP = 10_000  # characters of one argument's JSON
# Framework objects handed to tools that are not arguments the model chose (by class name, so
# no framework needs importing): they are left out of the recorded arguments.
CONTEXT_TYPES = frozenset(
    {
        "AgentContext",  # costar
        "RunContextWrapper",  # OpenAI Agents SDK
        "ToolContext",  # OpenAI Agents SDK
        "RunContext",  # PydanticAI
        "CallbackManagerForToolRun",  # LangChain
        "AsyncCallbackManagerForToolRun",  # LangChain
        "ToolRuntime",  # LangChain / LangGraph
        "Runtime",  # LangGraph
    }
)
CONTEXT_ANNOTATIONS = ("RunnableConfig", "InjectedState", "InjectedStore", "InjectedToolCallId")


def _is_context(value: Any, annotation: Any) -> bool:
    if any(c.__name__ in CONTEXT_TYPES for c in type(value).__mro__):
        return True
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return any(name in text for name in CONTEXT_ANNOTATIONS)


def _json_value(value: Any) -> Any:
    """`value` as JSON data (repr for what JSON cannot hold), cut at ARG_CAP characters."""
    try:
        text = json.dumps(value, default=repr, ensure_ascii=False)
    except (TypeError, ValueError):  # circular references, odd keys
        text = json.dumps(repr(value), ensure_ascii=False)
    if len(text) > ARG_CAP:
        return text[:ARG_CAP] + f"...[costar: cut {len(text) - ARG_CAP} characters]"
    return json.loads(text)


def tool_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    """Tool arguments as recorded: JSON values, each capped."""
    return {k: _json_value(v) for k, v in arguments.items()}


def _wrap_tool(fn: F, name: str, exclude: tuple[str, ...] = ()) -> F:
    signature = inspect.signature(fn)
    skip = {"self", "cls", *exclude}

    def inputs_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        try:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
        except TypeError:
            return tool_arguments({"args": list(args), "kwargs": kwargs})
        kept = {}
        for key, value in bound.arguments.items():
            param = signature.parameters[key]
            if key in skip or _is_context(value, param.annotation):
                continue
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                kept.update({k: v for k, v in value.items() if k not in skip})
            else:
                kept[key] = value
        return tool_arguments(kept)

    def quiet() -> bool:
        return _recorder.get() is None and not live_mlflow_span()

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if quiet():
                return await fn(*args, **kwargs)
            with Step(name, "TOOL", inputs_of(args, kwargs), {}) as step:
                served = replayed(step, "tool")
                step.result = await fn(*args, **kwargs) if served is LIVE else served
                return step.result

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if quiet():
            return fn(*args, **kwargs)
        with Step(name, "TOOL", inputs_of(args, kwargs), {}) as step:
            served = replayed(step, "tool")
            step.result = fn(*args, **kwargs) if served is LIVE else served
            return step.result

    return wrapper  # type: ignore[return-value]
