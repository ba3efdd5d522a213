"""Agents: adapters for the agent under test (Python callable, command, HTTP endpoint).

Importing it installs costar.traces' model-call observer in costar.llm (`record_llm_call`):
chat calls inside a trial, or inside a live MLflow span in production, become CHAT_MODEL spans."""

from costar.agents._command import CommandAgent
from costar.agents._context import Agent, AgentContext, AgentSession, TurnResult
from costar.agents._events import AgentEvent, events_to_spans
from costar.agents._http import HttpAgent
from costar.agents._python import PythonAgent, load_object
from costar.agents._resolve import resolve_agent

__all__ = [
    "Agent",
    "AgentContext",
    "AgentEvent",
    "AgentSession",
    "CommandAgent",
    "HttpAgent",
    "PythonAgent",
    "TurnResult",
    "events_to_spans",
    "load_object",
    "resolve_agent",
]
