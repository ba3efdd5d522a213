"""`costar.llm.chat(...)`: the module-level call, on a client per model, made on first use."""

from __future__ import annotations

import threading
from typing import Any

from costar._exceptions import ConfigError
from costar.config import current_settings
from costar.llm._client import LLMClient
from costar.llm._types import ChatResult

_clients: dict[tuple[str, str | None], LLMClient] = {}
_lock = threading.Lock()


def default_model() -> str:
    """The model named by the `model` setting (COSTAR_MODEL or costar.toml)."""
    model = current_settings().model
    if not model:
        raise ConfigError(
            "no model configured: set COSTAR_MODEL (for example openai:/gpt-4.1-mini) and the "
            "provider's key or COSTAR_LLM_BASE_URL"
        )
    return model


def get_client(model: str | None = None) -> LLMClient:
    """A shared client for `model` (default COSTAR_MODEL), keyed by model and base URL.

    The `llm_timeout` (seconds per attempt) and `llm_max_retries` settings tune it.
    """
    settings = current_settings()
    name = model or default_model()
    key = (name, settings.llm_base_url)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = LLMClient(
                name, timeout=settings.llm_timeout, max_retries=settings.llm_max_retries
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
