"""`costar.llm.chat(...)`: the module-level call, on a client per model, made on first use."""

from __future__ import annotations

import os
import threading
from typing import Any

from costar._exceptions import ConfigError
from costar.llm._client import LLMClient
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
    """A shared client for `model` (default COSTAR_MODEL), keyed by model and base URL."""
    name = model or default_model()
    key = (name, os.environ.get("COSTAR_LLM_BASE_URL"))
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = LLMClient(name)
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
