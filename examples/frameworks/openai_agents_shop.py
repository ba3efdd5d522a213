"""The shop agent on the OpenAI Agents SDK (Responses API by default)."""

from __future__ import annotations

from shop import INSTRUCTIONS, MODEL, STREAM, Shop, shop_for

from agents import Agent, RunContextWrapper, function_tool
from costar.frameworks.openai_agents import OpenAIAgentsAgent


def tell_the_model(wrapper: RunContextWrapper[Shop], error: Exception) -> str:
    return f"Error: {error}"  # the SDK's default hides the reason from the model (and trace)


@function_tool(failure_error_function=tell_the_model)
def lookup_order(wrapper: RunContextWrapper[Shop], order_id: int) -> str:
    """The status of an order."""
    return wrapper.context.status(order_id)


@function_tool(failure_error_function=None)  # its failures stop the run
def explode(wrapper: RunContextWrapper[Shop]) -> str:
    """Never call this."""
    raise RuntimeError("the warehouse system is down")


support = Agent(
    name="support", instructions=INSTRUCTIONS, model=MODEL, tools=[lookup_order, explode]
)
agent = OpenAIAgentsAgent(support, stream=STREAM, context=lambda ctx: shop_for(ctx.workspace))
