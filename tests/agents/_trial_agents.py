"""Python agents for the trial-shape tests: async, loop-bound, printing, framework-like."""

from __future__ import annotations

import asyncio
import sys
import threading

import costar


@costar.tool
async def slow_lookup(order_id: int) -> dict:
    await asyncio.sleep(0.05)
    return {"order_id": order_id, "status": "shipped"}


async def async_agent(ctx: costar.AgentContext) -> str:
    found = await slow_lookup(42)
    return f"order {found['order_id']} is {found['status']}"


class LoopBound:
    """Keeps an asyncio lock (bound to the loop it first runs on) and the thread across turns,
    like the OpenAI Agents SDK's Runner.run_sync does."""

    def __init__(self) -> None:
        self.lock: asyncio.Lock | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = 0

    async def __call__(self, ctx: costar.AgentContext) -> str:
        loop = asyncio.get_running_loop()
        if self.lock is None:
            self.lock, self.loop, self.thread = asyncio.Lock(), loop, threading.get_ident()
        async with self.lock:
            same = loop is self.loop and threading.get_ident() == self.thread
            return f"turn {ctx.turn}: same loop and thread {same}"


class Methods:
    def __init__(self) -> None:
        self.count = 0

    async def respond(self, ctx: costar.AgentContext) -> str:
        self.count += 1
        return f"call {self.count}"


def sync_over_run_until_complete(ctx: costar.AgentContext) -> str:
    """A sync agent driving the thread's loop itself, as Runner.run_sync does."""
    loop = asyncio.get_event_loop()
    return loop.run_until_complete(async_agent(ctx))


class RunContextWrapper:
    """Stands in for the OpenAI Agents SDK's context wrapper (excluded by class name)."""

    def __init__(self) -> None:
        self.blob = "x" * 50_000


@costar.tool
def with_context(wrapper: RunContextWrapper, order_id: int) -> str:
    return f"ok {order_id}"


@costar.tool(exclude=["session"])
def with_excluded(session: object, query: str, payload: object = None) -> str:
    return "found"


def context_agent(ctx: costar.AgentContext) -> str:
    with_context(RunContextWrapper(), 7)
    with_excluded(object(), "kettle", payload={"big": "y" * 50_000})
    return "done"


def printer(ctx: costar.AgentContext) -> str:
    print(f"stdout of {ctx.input}")
    print(f"stderr of {ctx.input}", file=sys.stderr)
    return f"reply to {ctx.input}"


def raiser(ctx: costar.AgentContext) -> str:
    slow_lookup_sync(1)
    print("about to fail")
    raise ValueError(f"bad order in {ctx.input}")


@costar.tool
def slow_lookup_sync(order_id: int) -> dict:
    return {"order_id": order_id}


def framework_chain(ctx: costar.AgentContext) -> str:
    """A framework-like CHAIN span holding the facts; the reply itself does not state them."""
    with costar.span("RunnableSequence", "CHAIN", inputs=ctx.input) as step:
        step.outputs = "system: refunds take 5 days; the order 1042 is refundable"
    return "I looked into it."
