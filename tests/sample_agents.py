"""Agents the tests run: in-process callables, and scripts run as real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
import time

import costar


@costar.tool
def add(a: int, b: int) -> int:
    return a + b


@costar.tool
def fail_lookup(key: str) -> str:
    raise KeyError(key)


def echo(ctx: costar.AgentContext) -> str:
    """Replies with the input; makes one tool call."""
    add(1, 2)
    return f"echo: {ctx.input}"


def counter(ctx: costar.AgentContext) -> str:
    """Records history length, so multi-turn history is visible in replies."""
    return f"turn {ctx.turn} saw {len(ctx.history)} messages"


def crash(ctx: costar.AgentContext) -> str:
    with contextlib.suppress(KeyError):
        fail_lookup("missing")
    raise RuntimeError("agent blew up")


def sleepy(ctx: costar.AgentContext) -> str:
    time.sleep(float(os.environ.get("SLEEP", "5")))
    return "woke up"


def db_writer(ctx: costar.AgentContext) -> str:
    with sqlite3.connect(ctx.workspace / "app.db") as conn:
        conn.execute("INSERT INTO items VALUES ('new', 1)")
    (ctx.workspace / "out.txt").write_text("done")
    return "written"


class Memory:
    """A class agent: one instance per trial keeps state across turns."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, ctx: costar.AgentContext) -> str:
        self.seen.append(ctx.input)
        return " | ".join(self.seen)


def command_main() -> None:
    """A command agent (run as `python sample_agents.py MODE`): JSON in, JSON out, events."""
    mode = sys.argv[1] if len(sys.argv) > 1 else "ok"
    request = json.load(sys.stdin)
    events = os.environ.get("COSTAR_EVENTS")
    if events:
        with open(events, "a") as fh:
            fh.write(
                json.dumps(
                    {
                        "type": "tool",
                        "name": "lookup",
                        "args": {"q": request["input"]},
                        "result": {"hits": 2},
                        "id": "t1",
                    }
                )
                + "\n"
            )
            fh.write(
                json.dumps(
                    {
                        "type": "llm",
                        "name": "chat",
                        "model": "m1",
                        "parent": "t1",
                        "messages": [{"role": "user", "content": request["input"]}],
                        "output": "hi",
                        "usage": {"input_tokens": 7, "output_tokens": 3},
                    }
                )
                + "\n"
            )
            fh.write("this is not json\n")
    if mode == "crash":
        print("something went wrong", file=sys.stderr)
        sys.exit(3)
    if mode == "hang":
        import subprocess

        # a child that would outlive us unless the whole group is killed
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        with open(os.path.join(request["workspace"], "child.pid"), "w") as fh:
            fh.write(str(child.pid))
        time.sleep(60)
    if mode == "huge":
        sys.stdout.write("x" * 10_000_000)
        return
    if mode == "notjson":
        print("hello, I am not JSON")
        return
    if mode == "slow":
        time.sleep(float(os.environ.get("SLEEP", "1")))
        if marks := os.environ.get("MARK_DIR"):  # lets a test see that trials finished
            open(os.path.join(marks, f"{os.getpid()}.done"), "w").close()
    print(
        json.dumps(
            {
                "output": f"cmd: {request['input']} (turn {request['turn']}, "
                f"history {len(request['history'])})"
            }
        )
    )


if __name__ == "__main__":
    command_main()
