"""Model calls as spans: the call observer costar.agents (so the harness) installs in costar.llm.

Inside a trial (a bound recorder) or a live MLflow span (production), each chat call becomes a
CHAT_MODEL span in MLflow's conventions: the messages as inputs, the assistant message as
outputs, token usage, latency and attempts as attributes. In a replayed trial the replay plan
may serve the recorded answer. This module does not import costar.llm: it reads the call and
the result by their fields (`model`, `provider`, `messages`, `tools`; `message()`, `usage`,
`latency`, `attempts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from costar.traces._record import LIVE, Step, current_recorder, live_mlflow_span, replayed


class _LLMSpan:
    """One call's observation: the recorded answer to serve, if any; the span to fill."""

    def __init__(self, step: Step, served: Any):
        self.step = step
        self.served = None if served is LIVE else served

    def finished(self, result: Any) -> None:
        self.step.outputs = result.message()
        self.step.set_attribute("mlflow.chat.tokenUsage", result.usage.to_dict())
        self.step.set_attribute("costar.llm.latency", round(result.latency, 4))
        self.step.set_attribute("costar.llm.attempts", result.attempts)


def record_llm_call(call: Any) -> AbstractContextManager[Any] | None:
    """The costar.llm call observer that records a call as a CHAT_MODEL span of the running
    trial (or of the live MLflow span, in production); None outside both. Importing
    costar.agents installs it (`costar.llm.add_call_observer(record_llm_call)`); a production
    agent that imports neither costar.agents nor the harness installs it the same way."""
    if current_recorder() is None and not live_mlflow_span():
        return None
    return _span(call)


@contextmanager
def _span(call: Any) -> Iterator[_LLMSpan]:
    attributes: dict[str, Any] = {
        "mlflow.llm.model": call.model,
        "mlflow.llm.provider": call.provider,
        "mlflow.message.format": "openai",
    }
    if call.tools:
        attributes["mlflow.chat.tools"] = call.tools
    with Step(f"chat {call.model}", "CHAT_MODEL", {"messages": call.messages}, attributes) as step:
        yield _LLMSpan(step, replayed(step, "llm"))
