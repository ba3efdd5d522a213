"""A sync agent on the OpenAI Agents SDK that keeps the SDK's conversation across turns and
drives it with Runner.run_sync (which needs the same event loop on every turn)."""

from openai_agents_shop import support
from shop import shop_for

from agents import Runner


class Conversation:
    def __init__(self) -> None:
        self.items: list = []

    def __call__(self, ctx) -> str:
        items = [*self.items, {"role": "user", "content": ctx.input}]
        result = Runner.run_sync(support, items, context=shop_for(ctx.workspace))
        self.items = result.to_input_list()
        return result.final_output
