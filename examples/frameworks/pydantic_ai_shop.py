"""The shop agent on PydanticAI."""

from __future__ import annotations

from pydantic_ai import Agent, ModelRetry, RunContext
from pydantic_ai.models.openai import OpenAIChatModel
from shop import INSTRUCTIONS, MODEL, STREAM, Shop, shop_for

from costar.frameworks.pydantic_ai import PydanticAIAgent

support = Agent(OpenAIChatModel(MODEL), deps_type=Shop, instructions=INSTRUCTIONS)


@support.tool
def lookup_order(ctx: RunContext[Shop], order_id: int) -> str:
    """The status of an order."""
    try:
        return ctx.deps.status(order_id)
    except LookupError as exc:
        raise ModelRetry(str(exc)) from exc  # the model is told, and may try again


@support.tool
def explode(ctx: RunContext[Shop]) -> str:
    """Never call this."""
    raise RuntimeError("the warehouse system is down")


agent = PydanticAIAgent(support, stream=STREAM, deps=lambda ctx: shop_for(ctx.workspace))
