"""Model strings -> an OpenAI-compatible endpoint (base URL, key, model name).

    openai:/gpt-4.1-mini          OpenAI, or any OpenAI-compatible server when a base URL is set
                                  (vLLM, llama.cpp's server, LM Studio, the scripted fake)
    ollama:/llama3.1              a local Ollama (default http://127.0.0.1:11434/v1)
    databricks:/my-endpoint       a Databricks serving endpoint (DATABRICKS_HOST, DATABRICKS_TOKEN)

The base URL comes from the caller, then the `llm_base_url` setting (COSTAR_LLM_BASE_URL),
then the provider's own variables (OPENAI_BASE_URL, OPENAI_API_BASE, OLLAMA_HOST,
DATABRICKS_HOST); the key from the caller, then `llm_api_key` (COSTAR_LLM_API_KEY), then
OPENAI_API_KEY or DATABRICKS_TOKEN.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from costar._exceptions import ConfigError
from costar.config import current_settings

# the model providers a model string may name (`provider:/model`)
PROVIDERS = ("openai", "ollama", "databricks")
OPENAI_URL = "https://api.openai.com/v1"


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call one model."""

    model_uri: str
    provider: str
    model: str
    base_url: str
    api_key: str | None

    @property
    def chat_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/chat/completions"

    @property
    def embeddings_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/embeddings"


def parse_model(model_uri: str) -> tuple[str, str]:
    """('openai', 'gpt-4.1-mini') from 'openai:/gpt-4.1-mini'."""
    provider, sep, name = model_uri.partition(":/")
    if not sep or not name or provider not in PROVIDERS:
        raise ConfigError(
            f"model {model_uri!r}: expected PROVIDER:/MODEL with PROVIDER one of "
            f"{', '.join(PROVIDERS)} (for example openai:/gpt-4.1-mini)"
        )
    return provider, name.lstrip("/")


def resolve_endpoint(
    model_uri: str, base_url: str | None = None, api_key: str | None = None
) -> Endpoint:
    """The endpoint for a model string, filling base URL and key from the environment."""
    provider, model = parse_model(model_uri)
    env = os.environ
    settings = current_settings()
    url = base_url or settings.llm_base_url
    key = api_key or settings.api_key()
    if provider == "openai":
        url = url or env.get("OPENAI_BASE_URL") or env.get("OPENAI_API_BASE") or OPENAI_URL
        key = key or env.get("OPENAI_API_KEY")
    elif provider == "ollama":
        host = env.get("OLLAMA_HOST", "http://127.0.0.1:11434")
        url = url or f"{host if '://' in host else 'http://' + host}/v1"
        key = key or "ollama"
    else:
        host = env.get("DATABRICKS_HOST", "")
        if not url and not host:
            raise ConfigError(f"model {model_uri!r}: set DATABRICKS_HOST (or COSTAR_LLM_BASE_URL)")
        url = url or f"{host.rstrip('/')}/serving-endpoints"
        key = key or env.get("DATABRICKS_TOKEN")
    return Endpoint(model_uri=model_uri, provider=provider, model=model, base_url=url, api_key=key)
