"""The OpenAI Agents SDK as a costar agent.

```python
from agents import Agent, function_tool
from costar.frameworks.openai_agents import OpenAIAgentsAgent

@function_tool
def lookup_order(order_id: int) -> str: ...

support = Agent(name="support", instructions="...", tools=[lookup_order])
agent = OpenAIAgentsAgent(support)          # costar.toml: agent = "my_agent:agent"
```

Per trial the adapter keeps the SDK's own conversation items (`result.to_input_list()`), so
turn 2 sees turn 1's tool calls as the SDK would. Each turn runs `Runner.run` (or
`Runner.run_streamed` with `stream=True`) on the trial's event loop. `context` builds the run
context from the AgentContext (for example a database in the trial's workspace).

Recording: the adapter installs a tracing processor that turns the SDK's spans into costar
spans: model calls (Responses or Chat Completions) as CHAT_MODEL with the usage the model
reported, function tools as TOOL with their arguments, output and error, agents, handoffs and
guardrails as steps. It replaces the SDK's default processors, so nothing is exported to
OpenAI's tracing service; set `keep_default_processors=True` to keep them.
Do not also decorate the tools with `costar.tool`: the SDK's function spans already record them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from costar.agents import AgentContext
from costar.frameworks._time import to_ns
from costar.traces import SpanRecord, current_recorder, new_span_id

_installed = threading.Lock()
_processor: _CostarProcessor | None = None


def _parsed(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _dump(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


def _usage(raw: Any) -> dict[str, int] | None:
    if raw is None:
        return None
    data = raw if isinstance(raw, dict) else _dump(raw)
    if not isinstance(data, dict) or "input_tokens" not in data:
        return None  # a request count alone is not a measurement of tokens
    tokens_in, tokens_out = int(data.get("input_tokens") or 0), int(data.get("output_tokens") or 0)
    return {
        "input_tokens": tokens_in,
        "output_tokens": tokens_out,
        "total_tokens": tokens_in + tokens_out,
    }


class _CostarProcessor:
    """An Agents SDK TracingProcessor writing finished spans into the running trial."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def on_trace_start(self, trace: Any) -> None:
        pass

    def on_trace_end(self, trace: Any) -> None:
        pass

    def on_span_start(self, span: Any) -> None:
        with self._lock:
            self._ids[span.span_id] = new_span_id()

    def on_span_end(self, span: Any) -> None:
        with self._lock:
            own = self._ids.pop(span.span_id, new_span_id())
            parent = self._ids.get(span.parent_id) if span.parent_id else None
        recorder = current_recorder()
        if recorder is None:
            return
        record = _record(span.span_data)
        error = span.error
        record.error = None
        if error:
            message = error.get("message") if isinstance(error, dict) else str(error)
            data = error.get("data") if isinstance(error, dict) else None
            if record.span_type == "TOOL" and isinstance(record.outputs, str):
                data = record.outputs  # what the model was told; the SDK redacts the span's copy
            detail = data if isinstance(data, str) else json.dumps(data, default=str)
            record.error = f"{message}: {detail}" if data else str(message)
        record.span_id, record.parent_id = own, parent
        record.start_ns = to_ns(span.started_at)
        record.end_ns = to_ns(span.ended_at, record.start_ns)
        recorder.add(record)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


def _record(data: Any) -> SpanRecord:
    kind = getattr(data, "type", "custom")
    if kind == "function":
        return SpanRecord(
            name=data.name,
            span_type="TOOL",
            inputs=_parsed(data.input),
            outputs=_parsed(data.output),
        )
    if kind == "generation":
        attributes: dict[str, Any] = {"mlflow.llm.model": data.model or ""}
        if usage := _usage(data.usage):
            attributes["mlflow.chat.tokenUsage"] = usage
        return SpanRecord(
            name=f"chat {data.model or ''}".strip(),
            span_type="CHAT_MODEL",
            inputs=_dump(data.input),
            outputs=_dump(data.output),
            attributes=attributes,
        )
    if kind == "response":
        response = data.response
        attributes = {}
        outputs: Any = None
        if response is not None:
            attributes["mlflow.llm.model"] = response.model
            if usage := _usage(response.usage) or _usage(data.usage):
                attributes["mlflow.chat.tokenUsage"] = usage
            outputs = _dump(response.output)
        return SpanRecord(
            name=f"response {attributes.get('mlflow.llm.model', '')}".strip(),
            span_type="CHAT_MODEL",
            inputs=_dump(data.input),
            outputs=outputs,
            attributes=attributes,
        )
    exported = data.export() if hasattr(data, "export") else {}
    name = getattr(data, "name", None) or kind
    span_kind = {"agent": "AGENT", "guardrail": "GUARDRAIL"}.get(kind, "UNKNOWN")
    return SpanRecord(
        name=f"{kind}: {name}" if name != kind else kind,
        span_type=span_kind if span_kind != "GUARDRAIL" else "UNKNOWN",
        attributes={"openai_agents.span": json.dumps(exported, default=str)[:4000]},
    )


def install_processor(keep_default: bool = False) -> None:
    """Route the Agents SDK's spans to costar (and, by default, only to costar)."""
    global _processor
    from agents import add_trace_processor, set_trace_processors

    with _installed:
        if _processor is not None:
            return
        _processor = _CostarProcessor()
        if keep_default:
            add_trace_processor(_processor)  # type: ignore[arg-type]
        else:
            set_trace_processors([_processor])  # type: ignore[list-item]


class OpenAIAgentsAgent:
    """A costar agent running an OpenAI Agents SDK `Agent`, one conversation per trial."""

    def __init__(
        self,
        agent: Any,
        *,
        stream: bool = False,
        max_turns: int = 10,
        context: Callable[[AgentContext], Any] | None = None,
        run_config: Any = None,
        keep_default_processors: bool = False,
    ):
        install_processor(keep_default_processors)
        self.agent = agent
        self.stream = stream
        self.max_turns = max_turns
        self.context = context
        self.run_config = run_config

    def costar_trial(self) -> Callable[[AgentContext], Any]:
        """A fresh conversation (costar calls this once per trial)."""
        return _Conversation(self)


class _Conversation:
    def __init__(self, adapter: OpenAIAgentsAgent):
        self.adapter = adapter
        self.items: list[Any] = []
        self.run_context: Any = None

    async def __call__(self, ctx: AgentContext) -> Any:
        from agents import Runner

        a = self.adapter
        if self.run_context is None and a.context is not None:
            self.run_context = a.context(ctx)  # once per trial: the SDK's context object
        items = [*self.items, {"role": "user", "content": ctx.input}]
        options: dict[str, Any] = {"max_turns": a.max_turns, "context": self.run_context}
        if a.run_config is not None:
            options["run_config"] = a.run_config
        if a.stream:
            streamed = Runner.run_streamed(a.agent, items, **options)
            async for _ in streamed.stream_events():
                pass
            self.items = streamed.to_input_list()
            return _dump(streamed.final_output)
        result = await Runner.run(a.agent, items, **options)
        self.items = result.to_input_list()
        return _dump(result.final_output)
