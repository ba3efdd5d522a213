"""A PydanticAI agent as a costar agent.

```python
from pydantic_ai import Agent, RunContext
from costar.frameworks.pydantic_ai import PydanticAIAgent

support = Agent("openai:gpt-4.1-mini", deps_type=Shop, instructions="...")

@support.tool
def lookup_order(ctx: RunContext[Shop], order_id: int) -> str: ...

agent = PydanticAIAgent(support, deps=lambda ctx: Shop(ctx.workspace / "shop.db"))
```

Per trial the adapter keeps the message history (`result.all_messages()`) and the deps (built
once, from the first turn's context). Each turn runs `agent.run` (or `agent.run_stream` with
`stream=True`) on the trial's event loop; the reply is the run's output (a pydantic model is
recorded as its JSON).

Recording: PydanticAI's own OpenTelemetry instrumentation (GenAI conventions), sent to a
private tracer provider whose only processor hands spans to costar (costar.traces.to_records):
model requests as CHAT_MODEL with their usage, tool runs as TOOL with arguments and result, a
retry (ModelRetry) or exception as the tool's error, the agent run as an AGENT step. Nothing is
exported anywhere; the global OpenTelemetry setup is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry.sdk.trace import SpanProcessor

from costar.agents import AgentContext
from costar.traces import from_readable, to_records

_provider: Any = None


class SpanCollector(SpanProcessor):
    """An OpenTelemetry SpanProcessor that hands each finished span to the trial running it.

    Only parents this processor saw start are kept; a span under someone else's span (another
    tracer provider's) hangs under the turn.
    """

    def __init__(self) -> None:
        super().__init__()
        self._open: set[int] = set()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        self._open.add(span.context.span_id)

    def on_end(self, span: Any) -> None:
        from costar.traces import current_recorder

        self._open.discard(span.context.span_id)
        recorder = current_recorder()
        if recorder is None:
            return
        converted = from_readable(span)
        (record,) = to_records([converted], None)
        own_parent = converted.parent_id is not None and converted.parent_id in self._open
        record.parent_id = converted.parent_id if own_parent else None
        recorder.add(record)

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _tracer_provider() -> Any:
    global _provider
    if _provider is None:
        from opentelemetry.sdk.trace import TracerProvider

        _provider = TracerProvider()  # no exporter: its one processor feeds costar
        _provider.add_span_processor(SpanCollector())
    return _provider


class PydanticAIAgent:
    """A costar agent running a PydanticAI `Agent`, one conversation per trial."""

    def __init__(
        self,
        agent: Any,
        *,
        stream: bool = False,
        deps: Callable[[AgentContext], Any] | None = None,
    ):
        from pydantic_ai.models.instrumented import InstrumentationSettings

        agent.instrument = InstrumentationSettings(
            tracer_provider=_tracer_provider(), include_content=True
        )
        self.agent = agent
        self.stream = stream
        self.deps = deps

    def costar_trial(self) -> Callable[[AgentContext], Any]:
        """A fresh conversation (costar calls this once per trial)."""
        return _Conversation(self)


class _Conversation:
    def __init__(self, adapter: PydanticAIAgent):
        self.adapter = adapter
        self.history: list[Any] = []
        self.deps: Any = None

    async def __call__(self, ctx: AgentContext) -> Any:
        a = self.adapter
        if self.deps is None and a.deps is not None:
            self.deps = a.deps(ctx)
        options = {"message_history": self.history or None, "deps": self.deps}
        if a.stream:
            async with a.agent.run_stream(ctx.input, **options) as result:
                output = await result.get_output()
        else:
            result = await a.agent.run(ctx.input, **options)
            output = result.output
        self.history = list(result.all_messages())
        return output.model_dump(mode="json") if hasattr(output, "model_dump") else output
