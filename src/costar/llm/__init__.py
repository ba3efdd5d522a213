"""The model interface: one client for every LLM use, and the scripted fake server.

A leaf: it imports no other step. Whoever wants to see model calls installs a call observer
(`add_call_observer`); costar.agents, and so the harness, installs costar.traces'
`record_llm_call`, which records each call inside a trial as a CHAT_MODEL span."""

from costar.llm._client import LLMClient
from costar.llm._default import chat, close_clients, default_model, get_client
from costar.llm._endpoint import PROVIDERS, Endpoint, parse_model, resolve_endpoint
from costar.llm._fake import FakeLLM, count_tokens, embed, serve
from costar.llm._limits import configure as configure_rate_limits
from costar.llm._limits import share_rate_limits
from costar.llm._observe import (
    CallObserver,
    ModelCall,
    Observation,
    add_call_observer,
    remove_call_observer,
)
from costar.llm._record import LLMProxy, describe_misses, llm_traffic
from costar.llm._script import Fault, Reply, Rule, Script, load_script
from costar.llm._types import ChatResult, ToolCall, Usage

__all__ = [
    "configure_rate_limits",
    "share_rate_limits",
    "PROVIDERS",
    "CallObserver",
    "ModelCall",
    "Observation",
    "add_call_observer",
    "remove_call_observer",
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
