"""Adapter for an HTTP endpoint that takes the OpenAI chat-completions request shape.

costar POSTs `{"model": ..., "messages": [history..., user turn], "metadata": {...}}` and reads
`choices[0].message.content`. The endpoint may add a `costar_events` list (the event protocol of
costar.agents._events) to report its steps, or export OpenTelemetry spans to the trial's OTLP
collector, whose URL each request carries as `metadata.otlp_traces_endpoint` (flush the
exporter before answering: spans that arrive after the reply are not in the turn). Connection
failures are retried a few times (infrastructure); HTTP errors and malformed replies are agent
errors.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

from costar._exceptions import AgentError, AgentProtocolError, AgentTimeout
from costar.agents._context import AgentContext, TurnResult
from costar.agents._events import events_to_spans
from costar.agents._otlp import OtlpCollector
from costar.traces import Recorder, to_records

CONNECT_RETRIES = 3


class HttpAgent:
    """POSTs each turn to an OpenAI-compatible chat-completions endpoint."""

    def __init__(self, url: str, model: str = "agent-under-test"):
        self.spec = url
        self.url = url
        self.model = model

    def open_trial(self) -> _HttpSession:
        return _HttpSession(self)  # the history travels in each request

    def _post(self, body: dict[str, Any], timeout: float) -> httpx.Response:
        for attempt in range(CONNECT_RETRIES + 1):
            try:
                return httpx.post(self.url, json=body, timeout=timeout)
            except httpx.TimeoutException as exc:
                raise AgentTimeout(f"no answer from {self.url} within {timeout:g} s") from exc
            except httpx.TransportError as exc:
                if attempt == CONNECT_RETRIES:
                    raise AgentError(f"cannot reach {self.url}: {exc}") from exc
                time.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")

    def run_turn(
        self,
        ctx: AgentContext,
        recorder: Recorder,
        timeout: float,
        cancel: threading.Event,
        extra: dict[str, Any] | None = None,
    ) -> TurnResult:
        metadata = {k: v for k, v in ctx.to_json().items() if k not in ("input", "history")}
        body = {
            "model": self.model,
            "messages": ctx.messages,
            "metadata": {**metadata, **(extra or {})},
        }
        response = self._post(body, timeout)
        if response.status_code >= 400:
            raise AgentError(f"HTTP {response.status_code} from {self.url}: {response.text[:300]}")
        try:
            data = response.json()
            message = data["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise AgentProtocolError(
                f"reply is not a chat completion ({exc}): {response.text[:300]!r}"
            ) from exc
        for span in events_to_spans(data.get("costar_events") or [], recorder.default_parent):
            recorder.add(span)
        output = message.get("content")
        if message.get("tool_calls"):
            output = {"content": output, "tool_calls": message["tool_calls"]}
        return TurnResult(output=output)


class _HttpSession:
    """One trial against the endpoint: its own OTLP collector."""

    def __init__(self, agent: HttpAgent):
        self.agent = agent
        self._otlp = OtlpCollector()

    def run_turn(
        self, ctx: AgentContext, recorder: Recorder, timeout: float, cancel: threading.Event
    ) -> TurnResult:
        extra = {"otlp_traces_endpoint": f"{self._otlp.endpoint}/v1/traces"}
        try:
            return self.agent.run_turn(ctx, recorder, timeout, cancel, extra)
        finally:
            for span in to_records(self._otlp.drain(), recorder.default_parent):
                recorder.add(span)

    def close(self) -> None:
        self._otlp.close()
