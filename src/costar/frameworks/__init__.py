"""Ready-made adapters for agents built on a framework (install `costar[frameworks]`).

Each adapter turns a framework's agent into a costar Python agent: one conversation per trial
(history kept the framework's way), the framework's own steps recorded as costar spans (model
calls with token usage, tool calls with arguments, results and errors), nothing sent anywhere
else. Point `agent` in costar.toml at the adapter instance:

- `costar.frameworks.openai_agents.OpenAIAgentsAgent` (OpenAI Agents SDK)
- `costar.frameworks.langgraph.LangGraphAgent` (a compiled LangGraph graph with `messages`)
- `costar.frameworks.pydantic_ai.PydanticAIAgent` (PydanticAI)

The modules import their framework on use, so `import costar.frameworks` needs none of them.
"""

# re-exported: the converter lives in costar.traces (command and HTTP agents use it too)
from costar.traces import OtelSpan, span_type, to_records

__all__ = ["OtelSpan", "span_type", "to_records"]
