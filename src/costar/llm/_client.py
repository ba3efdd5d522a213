"""The one client every LLM use in costar goes through.

`LLMClient.chat(messages, tools=None, response_format=None, **params)` calls an OpenAI-
compatible chat-completions endpoint and returns a ChatResult (text, tool calls, usage,
latency); `LLMClient.embed(texts)` calls its embeddings endpoint. Every attempt has a timeout;
429 (honouring Retry-After), 5xx, timeouts, connection failures and unreadable answers are
retried a bounded number of times with exponential backoff; then a typed LLMError is raised.
Each chat call is shown to the installed call observers (`_observe`): inside a costar trial,
the one costar.agents installs records it as a CHAT_MODEL span with token usage, and serves a
replayed trial (counterfactual checks) the recorded answer. This module imports no step.
"""

from __future__ import annotations

import json
import random
import threading
import time
from typing import Any

import httpx

from costar._exceptions import (
    LLMError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
)
from costar.llm._endpoint import Endpoint, resolve_endpoint
from costar.llm._limits import limiter
from costar.llm._observe import ModelCall, observed
from costar.llm._types import ChatResult, ToolCall, Usage

DEFAULT_TIMEOUT = 60.0
DEFAULT_RETRIES = 3
MAX_BACKOFF = 20.0


class _Retryable(Exception):
    def __init__(self, error: type[LLMError], message: str, wait: float | None = None):
        super().__init__(message)
        self.error, self.wait = error, wait


class LLMClient:
    """A thread-safe client for one model. Reuses connections across calls."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_RETRIES,
        backoff: float = 0.5,
    ):
        self.endpoint: Endpoint = resolve_endpoint(model, base_url, api_key)
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        headers = {"Content-Type": "application/json"}
        if self.endpoint.api_key:
            headers["Authorization"] = f"Bearer {self.endpoint.api_key}"
        self._http = httpx.Client(headers=headers, timeout=timeout)
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        return self.endpoint.model_uri

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def chat(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]] | None = None,
        response_format: dict[str, Any] | None = None,
        **params: Any,
    ) -> ChatResult:
        """One chat completion. `tools` and `response_format` use the OpenAI shapes."""
        body: dict[str, Any] = {"model": self.endpoint.model, "messages": messages, **params}
        if tools:
            body["tools"] = tools
        if response_format:
            body["response_format"] = response_format
        call = ModelCall(self.endpoint.model, self.endpoint.provider, messages, tools or None)
        with observed(call) as seen:
            if seen is None:
                return self._call(body)
            # a replayed trial may serve the recorded answer instead of the model's
            result = self._call(body) if seen.served is None else _from_message(seen.served)
            seen.finished(result)
        return result

    def embed(self, texts: list[str], batch: int = 256) -> list[list[float]]:
        """One embedding vector per text, from the model's embeddings endpoint (the same
        timeouts and retries as `chat`), in the order given."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch):
            body = {"model": self.endpoint.model, "input": texts[start : start + batch]}
            vectors += self._call(body, self.endpoint.embeddings_url, _parse_embeddings)
        return vectors

    def _call(self, body: dict[str, Any], url: str | None = None, parse: Any = None) -> Any:
        last: _Retryable | None = None
        limits = limiter()
        for attempt in range(1, self.max_retries + 2):
            if limits is not None:
                limits.acquire(self.endpoint.model_uri)
            start = time.monotonic()
            try:
                data = self._post(
                    body, url or self.endpoint.chat_url, "choices" if url is None else "data"
                )
                if limits is not None:
                    usage = data.get("usage") or {}
                    limits.spend(self.endpoint.model_uri, int(usage.get("total_tokens") or 0))
                return (parse or _parse)(data, time.monotonic() - start, attempt)
            except _Retryable as exc:
                last = exc
                if attempt > self.max_retries:
                    break
                wait = exc.wait if exc.wait is not None else self.backoff * 2 ** (attempt - 1)
                time.sleep(min(MAX_BACKOFF, wait) * (1 + random.random() * 0.1))
        assert last is not None
        raise last.error(
            f"{self.endpoint.model_uri}: {last} (after {self.max_retries + 1} attempts)",
            attempts=self.max_retries + 1,
        )

    def _post(self, body: dict[str, Any], url: str, key: str) -> dict[str, Any]:
        try:
            response = self._http.post(url, json=body)
        except httpx.TimeoutException as exc:
            raise _Retryable(LLMTimeoutError, f"no answer within {self.timeout:g} s") from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise _Retryable(LLMResponseError, f"answer cut off: {exc}") from exc
        except httpx.TransportError as exc:
            raise _Retryable(
                LLMServerError, f"cannot reach {self.endpoint.base_url}: {exc}"
            ) from exc
        status = response.status_code
        if status == 429:
            raise _Retryable(LLMRateLimitError, "rate limited (HTTP 429)", _retry_after(response))
        if status >= 500:
            raise _Retryable(LLMServerError, f"HTTP {status}: {response.text[:200]}")
        if status >= 400:
            raise LLMRequestError(
                f"{self.endpoint.model_uri}: HTTP {status}: {response.text[:300]} "
                "(check the model name, key and arguments)"
            )
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _Retryable(
                LLMResponseError, f"answer is not JSON: {response.text[:120]!r}"
            ) from exc
        if not isinstance(data, dict) or not data.get(key):
            raise _Retryable(LLMResponseError, f"answer has no {key}: {str(data)[:120]}")
        return data


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _parse_embeddings(data: dict[str, Any], latency: float, attempts: int) -> list[list[float]]:
    try:
        rows = sorted(data["data"], key=lambda row: int(row.get("index", 0)))
        return [[float(x) for x in row["embedding"]] for row in rows]
    except (KeyError, TypeError, ValueError) as exc:
        raise _Retryable(LLMResponseError, f"answer is not a list of embeddings: {exc}") from exc


def _parse(data: dict[str, Any], latency: float, attempts: int) -> ChatResult:
    try:
        choice = data["choices"][0]
        message = choice["message"]
        calls = []
        for raw in message.get("tool_calls") or []:
            fn = raw["function"]
            text = fn.get("arguments") or "{}"
            try:
                args = json.loads(text) if isinstance(text, str) else dict(text)
            except json.JSONDecodeError:
                args = {"_unparsed": text}
            calls.append(
                ToolCall(
                    id=raw.get("id", ""),
                    name=fn["name"],
                    arguments=args,
                    raw_arguments=text if isinstance(text, str) else json.dumps(text),
                )
            )
        usage = data.get("usage") or {}
        return ChatResult(
            text=message.get("content"),
            tool_calls=calls,
            usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
            latency=latency,
            model=str(data.get("model", "")),
            finish_reason=choice.get("finish_reason"),
            attempts=attempts,
        )
    except (KeyError, IndexError, TypeError) as exc:
        raise _Retryable(LLMResponseError, f"answer is not a chat completion: {exc}") from exc


def _from_message(message: dict[str, Any]) -> ChatResult:
    """A ChatResult from a recorded assistant message (a replayed model call: no tokens)."""
    calls = []
    for i, call in enumerate(message.get("tool_calls") or []):
        fn = call.get("function", {})
        raw = fn.get("arguments") or "{}"
        try:
            args = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except json.JSONDecodeError:
            args = {}
        text = raw if isinstance(raw, str) else json.dumps(raw)
        calls.append(ToolCall(call.get("id") or f"replayed-{i}", fn.get("name", ""), args, text))
    return ChatResult(text=message.get("content"), tool_calls=calls, finish_reason="replayed")
