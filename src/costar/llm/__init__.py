"""The model interface: one client for every LLM use, and the scripted fake server."""

from costar.llm._client import LLMClient
from costar.llm._default import chat, close_clients, default_model, get_client
from costar.llm._endpoint import PROVIDERS, Endpoint, parse_model, resolve_endpoint
from costar.llm._fake import FakeLLM, count_tokens, embed, serve
from costar.llm._record import LLMProxy, describe_misses, llm_traffic
from costar.llm._script import Fault, Reply, Rule, Script, load_script
from costar.llm._types import ChatResult, ToolCall, Usage

__all__ = [
    "PROVIDERS",
    "ChatResult",
    "Endpoint",
    "FakeLLM",
    "Fault",
    "LLMClient",
    "LLMProxy",
    "Reply",
    "Rule",
    "Script",
    "ToolCall",
    "Usage",
    "chat",
    "close_clients",
    "count_tokens",
    "default_model",
    "describe_misses",
    "embed",
    "get_client",
    "llm_traffic",
    "load_script",
    "parse_model",
    "resolve_endpoint",
    "serve",
]
