"""`costar monitor` against a real `mlflow server` on 127.0.0.1 holding production traces
logged by MLflow's own tracing: the cursor, sampling, windows, alerts and their sinks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from _helpers import write_files
from _mlflow_server import mlflow_server
from _production import log_in_subprocess
from costar.assess import VerdictStore

HOUR_MS = 3_600_000
T0 = 1_790_000_000_000 // HOUR_MS * HOUR_MS  # the top of an hour
JUDGES = {
    "judges/polite.py": """
import costar

@costar.judge(name="polite", kind="check")
def polite(view, scenario):
    text = str(view.output or "").lower()
    return ("please" in text or "thank" in text), "asks or thanks politely"
""",
    "judges/tone.yaml": """
defaults: false
judges:
  - name: tone
    use: guidelines
    params: {guidelines: ["Replies politely"], model: openai:/judge-model}
  - {name: "metric:total_tokens", use: metric, params: {name: total_tokens}}
  - {name: "metric:tool_failure_ratio", use: metric, params: {name: tool_failure_ratio}}
""",
}


def conversations(hour: int, n: int, polite_share: float, tokens: int = 1000) -> list[dict]:
    out = []
    for i in range(n):
        polite = i < round(n * polite_share)
        out.append(
            {
                "user": f"where is my order {hour}-{i}?",
                "reply": "Your order ships today, thank you!" if polite else "It ships today.",
                "ts_ms": T0 + hour * HOUR_MS + i * 1000,
                "tools": [{"name": "lookup_order", "args": {"id": i}, "result": {"ok": True}}],
                "tokens": {"input_tokens": tokens, "output_tokens": 20},
            }
        )
    return out


@pytest.fixture
def prod(project: Path, tmp_path: Path, template_db: Path):
    db = tmp_path / "prod.db"
    shutil.copyfile(template_db, db)
    write_files(project, JUDGES)
    with mlflow_server(db, tmp_path / "prod-artifacts") as uri:
        yield project, uri


def monitor(project: Path, uri: str, *args: str, env: dict | None = None, wait: bool = True):
    cmd = [
        sys.executable,
        "-m",
        "costar.cli",
        "monitor",
        "--tracking-uri",
        uri,
        "--experiment",
        "production",
        "--sample",
        "0.5",
        *args,
    ]
    run_env = {**os.environ, **(env or {})}
    if not wait:
        return subprocess.Popen(
            cmd, cwd=project, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    return subprocess.run(
        cmd, cwd=project, env=run_env, capture_output=True, text=True, timeout=600
    )


def window_counts(project: Path) -> dict[str, int]:
    """Traces scored by `polite` per window, from the verdict store."""
    store = VerdictStore(project / ".costar" / "verdicts.db")
    out = {}
    for run_id in store.run_ids("monitor:production:"):
        verdicts = [v for v in store.for_run(run_id) if v.judge == "polite"]
        out[run_id] = len({v.trace_id for v in verdicts})
    return out


@pytest.mark.slow
def test_cursor_survives_a_kill_and_counts_every_trace_exactly_once(
    prod, tmp_path, fake_judge
) -> None:
    project, uri = prod
    log_in_subprocess(
        uri, "production", conversations(0, 30, 0.9) + conversations(1, 30, 0.9), tmp_path
    )
    cursor = project / ".costar" / "monitor" / "production.json"
    proc = monitor(project, uri, "--no-mirror", env={"COSTAR_MONITOR_BATCH": "5"}, wait=False)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # kill it mid-way, after some batches are saved
        if cursor.exists() and 10 <= json.loads(cursor.read_text())["processed"] < 60:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the monitor finished before it could be killed"
    done_before = json.loads(cursor.read_text())["processed"]
    assert 10 <= done_before < 60

    again = monitor(project, uri, "--no-mirror")
    assert again.returncode == 0, again.stderr
    assert f"scored {60 - done_before} new traces" in again.stdout
    assert sorted(window_counts(project).values()) == [30, 30]  # none skipped, none twice

    log_in_subprocess(uri, "production", conversations(2, 10, 0.9), tmp_path)
    later = monitor(project, uri, "--no-mirror", "--json")
    data = json.loads(later.stdout)
    assert data["traces"] == 10 and sorted(window_counts(project).values()) == [10, 30, 30]
    assert monitor(project, uri, "--no-mirror", "--json").stdout.count('"traces": 0') == 1


@pytest.mark.slow
def test_a_drop_in_pass_rate_raises_an_alert_sent_to_every_sink(prod, tmp_path, fake_judge) -> None:
    project, uri = prod
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    stable = [c for h in range(3) for c in conversations(h, 20, 0.95)]
    log_in_subprocess(uri, "production", stable, tmp_path)
    quiet = monitor(project, uri, "--webhook", f"http://127.0.0.1:{hook.server_port}/hook")
    assert quiet.returncode == 0 and "ALERT" not in quiet.stdout, quiet.stdout + quiet.stderr
    assert received == []

    bad = conversations(3, 20, 0.4)
    bad[0]["tokens"] = {"input_tokens": 40_000, "output_tokens": 500}  # one runaway conversation
    ids = log_in_subprocess(uri, "production", bad, tmp_path)
    loud = monitor(project, uri, "--webhook", f"http://127.0.0.1:{hook.server_port}/hook")
    hook.shutdown()
    hook.server_close()
    assert loud.returncode == 1, loud.stderr
    assert "ALERT pass_rate_drop: polite: pass rate 95% -> 40%" in loud.stdout
    assert "Fisher exact" in loud.stdout
    assert "ALERT metric_anomaly: metric:total_tokens: 1 conversation(s)" in loud.stdout
    (posted,) = received
    kinds = {a["kind"]: a for a in posted["alerts"]}
    assert kinds["pass_rate_drop"]["numbers"]["window_n"] == 20
    assert set(kinds["pass_rate_drop"]["examples"]) <= set(ids)
    assert kinds["metric_anomaly"]["examples"] == [ids[0]]
    lines = (project / ".costar" / "monitor" / "production-alerts.jsonl").read_text().splitlines()
    assert {json.loads(x)["kind"] for x in lines} == {"pass_rate_drop", "metric_anomaly"}
    # verdicts are written onto the production traces, visible in the MLflow UI
    from costar.traces import TraceStore

    trace = TraceStore(uri, "production").get_traces([ids[1]])[0]
    assert {a.name for a in trace.info.assessments} >= {"polite", "metric:total_tokens"}
    # the LLM judge scored a deterministic half of the traces (by trace id), not all
    store = VerdictStore(project / ".costar" / "verdicts.db")
    tone = [
        v
        for r in store.run_ids("monitor:production:")
        for v in store.for_run(r)
        if v.judge == "tone"
    ]
    assert 20 < len(tone) < 60  # of 80; binomial(80, 0.5) leaves this range once in 10^5


@pytest.fixture
def fake_judge(fake_llm):
    script = {
        "rules": [
            {
                "when": {"system": "costar's judge"},
                "reply": {"json": {"passed": True, "rationale": "ok"}},
            }
        ]
    }
    return fake_llm(script, "openai:/judge-model")
