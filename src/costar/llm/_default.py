"""`costar.llm.chat(...)`: the module-level call, on a client per model, made on first use."""

from __future__ import annotations

import os
import threading
from typing import Any

from costar._exceptions import ConfigError
from costar.llm._client import DEFAULT_RETRIES, DEFAULT_TIMEOUT, LLMClient
from costar.llm._types import ChatResult

_clients: dict[tuple[str, str | None], LLMClient] = {}
_lock = threading.Lock()


def default_model() -> str:
    """The model named by COSTAR_MODEL."""
    model = os.environ.get("COSTAR_MODEL")
    if not model:
        raise ConfigError(
            "no model configured: set COSTAR_MODEL (for example openai:/gpt-4.1-mini) and the "
            "provider's key or COSTAR_LLM_BASE_URL"
        )
    return model


def get_client(model: str | None = None) -> LLMClient:
    """A shared client for `model` (default COSTAR_MODEL), keyed by model and base URL.

    COSTAR_LLM_TIMEOUT (seconds per attempt) and COSTAR_LLM_MAX_RETRIES tune it.
    """
    name = model or default_model()
    key = (name, os.environ.get("COSTAR_LLM_BASE_URL"))
    with _lock:
        client = _clients.get(key)
        if client is None:
            env = os.environ
            client = _clients[key] = LLMClient(
                name,
                timeout=float(env.get("COSTAR_LLM_TIMEOUT", DEFAULT_TIMEOUT)),
                max_retries=int(env.get("COSTAR_LLM_MAX_RETRIES", DEFAULT_RETRIES)),
            )
        return client


def chat(
    messages: list[dict[str, Any]],
    tools: list[dict[str, Any]] | None = None,
    response_format: dict[str, Any] | None = None,
    *,
    model: str | None = None,
    **params: Any,
) -> ChatResult:
    """One chat completion on the shared client for `model` (default COSTAR_MODEL)."""
    return get_client(model).chat(messages, tools=tools, response_format=response_format, **params)


def close_clients() -> None:
    """Close and forget the shared clients (their pooled connections)."""
    with _lock:
        while _clients:
            _clients.popitem()[1].close()
