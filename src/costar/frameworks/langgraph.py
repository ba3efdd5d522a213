"""A LangGraph graph as a costar agent.

```python
from costar.frameworks.langgraph import LangGraphAgent

def build(ctx):                       # called once per trial, with the first turn's context
    ...                               # tools that read ctx.workspace, a model, a StateGraph
    return graph.compile()

agent = LangGraphAgent(build)         # or LangGraphAgent(compiled_graph)
```

The graph's state has a `messages` list (MessagesState). Per trial the adapter keeps the
conversation: with a checkpointer, as a thread (`thread_id` per trial); without one, by passing
the previous turn's messages back in. The reply is the last AI message's text.

Recording: a LangChain callback handler turns the run into costar spans: chat model calls as
CHAT_MODEL with the usage the model reported (set `stream_usage=True` on ChatOpenAI when
streaming, or no usage is reported and tokens read "not measured"), tool runs as TOOL with
their input, output and error, the graph and each node as steps. Nothing leaves the process.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

from costar.agents import AgentContext
from costar.traces import Recorder, SpanRecord, current_recorder


def _message(message: Any) -> Any:
    if hasattr(message, "model_dump"):
        data = message.model_dump(mode="json", exclude_none=True)
        keep = ("type", "content", "tool_calls", "name", "tool_call_id", "status")
        return {k: data[k] for k in keep if data.get(k) not in (None, [], "")}
    return message


class _Handler(BaseCallbackHandler):
    """LangChain callbacks to costar spans, for one turn of one trial."""

    run_inline = True  # called on the trial's own loop, in order

    def __init__(self, recorder: Recorder | None):
        self.recorder = recorder
        self.open: dict[UUID, tuple[SpanRecord | None, UUID | None]] = {}

    def _parent(self, parent_run_id: UUID | None) -> int | None:
        while parent_run_id is not None and parent_run_id in self.open:
            record, up = self.open[parent_run_id]
            if record is not None:
                return record.span_id
            parent_run_id = up
        return None

    def _start(self, run_id: UUID, parent_run_id: UUID | None, record: SpanRecord | None) -> None:
        if record is not None:
            record.parent_id = self._parent(parent_run_id)
        self.open[run_id] = (record, parent_run_id)

    def _end(self, run_id: UUID, outputs: Any = None, error: BaseException | None = None) -> None:
        record, _ = self.open.get(run_id, (None, None))
        if record is None:
            return
        if outputs is not None:
            record.outputs = outputs
        if error is not None:
            record.error = f"{type(error).__name__}: {error}"
        record.end_ns = time.time_ns()
        if self.recorder is not None:
            self.recorder.add(record)

    # -- model calls ----------------------------------------------------------------------
    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        params = kwargs.get("invocation_params") or {}
        model = (
            params.get("model")
            or params.get("model_name")
            or (metadata or {}).get("ls_model_name", "")
        )
        record = SpanRecord(
            name=f"chat {model}".strip(),
            span_type="CHAT_MODEL",
            inputs=[_message(m) for m in (messages[0] if messages else [])],
            attributes={"mlflow.llm.model": model},
        )
        self._start(run_id, parent_run_id, record)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        record, _ = self.open.get(run_id, (None, None))
        generation = (
            response.generations[0][0] if response.generations and response.generations[0] else None
        )
        message = getattr(generation, "message", None)
        usage = getattr(message, "usage_metadata", None)
        if not usage:
            usage = (response.llm_output or {}).get("token_usage") or None
            if usage:
                usage = {
                    "input_tokens": usage.get("prompt_tokens", 0),
                    "output_tokens": usage.get("completion_tokens", 0),
                }
        if record is not None and usage:
            tokens_in, tokens_out = (
                int(usage.get("input_tokens", 0)),
                int(usage.get("output_tokens", 0)),
            )
            record.attributes["mlflow.chat.tokenUsage"] = {
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "total_tokens": tokens_in + tokens_out,
            }
        self._end(
            run_id, _message(message) if message is not None else getattr(generation, "text", None)
        )

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # -- tools ----------------------------------------------------------------------------
    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        args: Any = inputs
        if args is None:
            try:
                args = json.loads(input_str)
            except ValueError:
                args = {"input": input_str}
        name = (serialized or {}).get("name") or kwargs.get("name") or "tool"
        self._start(run_id, parent_run_id, SpanRecord(name=name, span_type="TOOL", inputs=args))

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        content = getattr(output, "content", output)
        self._end(run_id, content)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)

    # -- the graph and its nodes ----------------------------------------------------------
    def on_chain_start(
        self,
        serialized: dict[str, Any],
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = kwargs.get("name") or (serialized or {}).get("name") or "chain"
        node = (metadata or {}).get("langgraph_node")
        keep = parent_run_id is None or (node is not None and node == name)
        record = SpanRecord(name=name, span_type="CHAIN") if keep else None
        self._start(run_id, parent_run_id, record)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._end(run_id, error=error)


class LangGraphAgent:
    """A costar agent running a LangGraph graph (or a per-trial factory of one)."""

    def __init__(
        self,
        graph: Any | Callable[[AgentContext], Any],
        *,
        config: dict[str, Any] | None = None,
    ):
        self.graph = graph
        self.config = dict(config or {})

    def costar_trial(self) -> Callable[[AgentContext], Any]:
        """A fresh conversation (costar calls this once per trial)."""
        return _Conversation(self)


class _Conversation:
    def __init__(self, adapter: LangGraphAgent):
        self.adapter = adapter
        self.graph: Any = None
        self.messages: list[Any] = []

    async def __call__(self, ctx: AgentContext) -> Any:
        from langchain_core.messages import HumanMessage

        if self.graph is None:
            source = self.adapter.graph
            self.graph = source if hasattr(source, "ainvoke") else source(ctx)
        config = {**self.adapter.config, "callbacks": [_Handler(current_recorder())]}
        user = HumanMessage(ctx.input)
        if getattr(self.graph, "checkpointer", None) is not None:
            config["configurable"] = {
                **config.get("configurable", {}),
                "thread_id": f"{ctx.scenario_id}#{ctx.trial}",
            }
            state = await self.graph.ainvoke({"messages": [user]}, config)
        else:
            state = await self.graph.ainvoke({"messages": [*self.messages, user]}, config)
        self.messages = list(state["messages"])
        for message in reversed(self.messages):
            if getattr(message, "type", "") == "ai":
                return (
                    message.text
                    if hasattr(message, "text") and not callable(message.text)
                    else message.content
                )
        return None
