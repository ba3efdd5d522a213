"""The shop agent on LangGraph: a model node and a tool node in a loop."""

from __future__ import annotations

from langchain_core.messages import SystemMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from shop import INSTRUCTIONS, MODEL, STREAM, shop_for

from costar.frameworks.langgraph import LangGraphAgent


def build(ctx):
    """The graph for one trial: its tools read that trial's database."""
    shop = shop_for(ctx.workspace)

    @tool
    def lookup_order(order_id: int) -> str:
        """The status of an order."""
        return shop.status(order_id)

    @tool
    def explode() -> str:
        """Never call this."""
        raise RuntimeError("the warehouse system is down")

    tools = [lookup_order, explode]
    model = ChatOpenAI(model=MODEL, streaming=STREAM, stream_usage=True).bind_tools(tools)

    async def call_model(state: MessagesState) -> dict:
        return {
            "messages": [await model.ainvoke([SystemMessage(INSTRUCTIONS), *state["messages"]])]
        }

    graph = StateGraph(MessagesState)
    graph.add_node("model", call_model)
    graph.add_node("tools", ToolNode(tools, handle_tool_errors=(LookupError,)))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, ["tools", END])
    graph.add_edge("tools", "model")
    return graph.compile()


agent = LangGraphAgent(build)
