"""A stand-in production agent: logs conversations to an MLflow tracking server with MLflow's
own tracing, the way an instrumented agent in production does. Run as a script so MLflow's
global state stays out of the test process:

    python _production.py TRACKING_URI EXPERIMENT conversations.json

Each conversation: {"user", "reply", "ts_ms", "tools": [{"name", "args", "result", "error"}],
"tokens": {"input_tokens", "output_tokens"}, "tags": {...}}.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def log(uri: str, experiment: str, conversations: list[dict]) -> list[str]:
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    import mlflow

    mlflow.set_tracking_uri(uri)
    exp = mlflow.set_experiment(experiment)
    ids = []
    for c in conversations:
        t0 = int(c["ts_ms"]) * 1_000_000
        root = mlflow.start_span_no_context(
            "support-agent",
            span_type="AGENT",
            inputs={"messages": [{"role": "user", "content": c["user"]}]},
            experiment_id=exp.experiment_id,
            start_time_ns=t0,
            tags=c.get("tags") or None,
        )
        at = t0
        for tool in c.get("tools", []):
            at += 1_000_000
            span = mlflow.start_span_no_context(
                tool["name"],
                span_type="TOOL",
                parent_span=root,
                inputs=tool.get("args", {}),
                start_time_ns=at,
            )
            if tool.get("error"):
                span.end(status="ERROR", end_time_ns=at + 500_000)
                span.set_status("ERROR")
            else:
                span.end(outputs=tool.get("result"), end_time_ns=at + 500_000)
        llm = mlflow.start_span_no_context(
            "chat",
            span_type="CHAT_MODEL",
            parent_span=root,
            inputs={"messages": []},
            start_time_ns=at + 1_000_000,
            attributes={
                "mlflow.chat.tokenUsage": c.get(
                    "tokens", {"input_tokens": 100, "output_tokens": 20}
                )
            },
        )
        llm.end(outputs=c["reply"], end_time_ns=at + 2_000_000)
        root.end(outputs=c["reply"], end_time_ns=at + 3_000_000)
        ids.append(root.trace_id)
    return ids


def log_in_subprocess(uri: str, experiment: str, conversations: list[dict], tmp: Path) -> list[str]:
    data = tmp / f"conversations-{len(list(tmp.glob('conversations-*')))}.json"
    data.write_text(json.dumps(conversations))
    done = subprocess.run(
        [sys.executable, __file__, uri, experiment, str(data)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    found = log(sys.argv[1], sys.argv[2], json.loads(Path(sys.argv[3]).read_text()))
    print(json.dumps(found))
