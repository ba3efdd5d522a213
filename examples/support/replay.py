"""Production traffic for `costar monitor`, on one machine.

Runs the support agent as a small service would: one conversation per request, each in its
own workspace, traced by MLflow's own tracing into a tracking server, the way a production
deployment logs to the team's MLflow. The requests are the example scenarios' user turns, over
and over (`--rounds`). Inside the request's MLflow span, the agent's `costar.tool` calls and
`costar.llm` calls become TOOL and CHAT_MODEL spans, so production traces read like test
traces. Each trace carries the tag `costar.setup` (the initial state it ran against), which
`costar scenario from-trace` turns into a scenario's setup.

    mlflow server --host 127.0.0.1 --port 5000 &          # the team's server, here local
    python replay.py --tracking-uri http://127.0.0.1:5000 --rounds 3
    costar monitor --tracking-uri http://127.0.0.1:5000 --experiment support-production

`--requests production_requests.txt` serves other requests than the suite's (some that no
scenario covers), for `costar coverage`.

Offline, the model is the scripted fake LLM (fake_llm.yaml); with COSTAR_MODEL set, that model.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def absolute(setup: dict, base: Path) -> dict:
    """The setup with its fixture paths absolute, so the recorded state can be found again."""
    for spec in setup.get("files", {}).values():
        if isinstance(spec, dict) and "from" in spec:
            spec["from"] = str((base / spec["from"]).resolve())
    for spec in setup.get("sqlite", {}).values():
        if isinstance(spec, dict) and "sql_file" in spec:
            spec["sql_file"] = str((base / spec["sql_file"]).resolve())
    return setup


def as_request(item, text: str):
    """A request: `text` from the user, against `item`'s initial state."""
    from dataclasses import replace

    return replace(item, scenario=item.scenario.model_copy(update={"input": text}))


def serve_one(agent_cls, item, mlflow) -> str:
    """One production request: a conversation in a fresh workspace, traced by MLflow."""
    from costar.agents import AgentContext
    from costar.scenarios import build_workspace

    workspace = build_workspace(item)
    turns = item.scenario.turns
    setup = absolute(
        item.scenario.setup.model_dump(exclude_defaults=True, by_alias=True, mode="json"),
        item.path.parent,
    )
    try:
        agent = agent_cls()
        history: list[dict] = []
        inputs = {"messages": [{"role": "user", "content": t} for t in turns]}
        with mlflow.start_span("support-agent", span_type="AGENT") as span:
            span.set_inputs(inputs)
            mlflow.update_current_trace(tags={"costar.setup": json.dumps(setup)})
            reply = ""
            for i, text in enumerate(turns):
                ctx = AgentContext(
                    input=text,
                    history=list(history),
                    workspace=workspace.path,
                    scenario_id="",
                    trial=0,
                    turn=i,
                )
                reply = agent(ctx)
                history += [
                    {"role": "user", "content": text},
                    {"role": "assistant", "content": reply},
                ]
            span.set_outputs(reply)
        return span.trace_id
    finally:
        shutil.rmtree(workspace.path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", default=f"sqlite:///{HERE / '.costar' / 'production.db'}")
    parser.add_argument("--experiment", default="support-production")
    parser.add_argument("--rounds", type=int, default=1, help="Times through the requests.")
    parser.add_argument("--interval", type=float, default=0.0, help="Seconds between requests.")
    parser.add_argument("--scenario", action="append", help="Only these scenario ids.")
    parser.add_argument(
        "--requests",
        type=Path,
        help="Serve these requests instead (a text file, one request a line, # comments), "
        "each against the first scenario's initial state.",
    )
    args = parser.parse_args(argv)

    from costar._env import quiet_dependencies

    quiet_dependencies()  # no telemetry, no price-list downloads (before mlflow is imported)
    os.environ.setdefault("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")  # nothing dropped
    sys.path.insert(0, str(HERE))
    import mlflow
    from support_agent import SupportAgent

    from costar.llm import FakeLLM
    from costar.scenarios import load_suite

    mlflow.set_tracking_uri(args.tracking_uri)
    mlflow.set_experiment(args.experiment)
    items = [
        s
        for s in load_suite(HERE / "scenarios").scenarios
        if not args.scenario or s.id in args.scenario
    ]
    if args.requests:
        lines = args.requests.read_text(encoding="utf-8").splitlines()
        texts = [t.strip() for t in lines if t.strip() and not t.startswith("#")]
        items = [as_request(items[0], text) for text in texts]
    fake = None
    if not os.environ.get("COSTAR_MODEL"):
        fake = FakeLLM(HERE / "fake_llm.yaml").start()
        os.environ.update(fake.env("openai:/scripted-fake"))
        print(f"model: the scripted fake LLM at {fake.base_url} (set COSTAR_MODEL for a real one)")
    try:
        served = 0
        for _ in range(args.rounds):
            for item in items:
                trace_id = serve_one(SupportAgent, item, mlflow)
                served += 1
                print(f"{trace_id}  {item.id}", flush=True)
                time.sleep(args.interval)
        print(f"served {served} conversations into {args.tracking_uri} ({args.experiment})")
    finally:
        if fake is not None:
            fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
