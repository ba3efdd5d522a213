"""`costar show` as a user runs it: a recorded two-turn trial whose model call goes to the
scripted fake LLM, whose second turn's tool fails and whose agent then raises; the project's
judges score it; `show` prints the conversation, the traceback, the final state and the
verdicts with the cited span marked, by full id or any unique prefix."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.llm import FakeLLM

AGENT = """
import sqlite3
import costar
from costar.llm import chat


@costar.tool
def lookup_order(order_id: int) -> dict:
    return {"order_id": order_id, "status": "delivered", "note": "[bold]not markup[/]"}


@costar.tool
def issue_refund(order_id: int) -> str:
    raise PermissionError(f"refunds for order {order_id} need a manager")


def agent(ctx):
    if ctx.turn == 0:
        answer = chat([{"role": "user", "content": ctx.input}])
        lookup_order(1042)
        with sqlite3.connect(ctx.workspace / "shop.db") as conn:
            conn.execute("update orders set status = 'refund requested'")
        (ctx.workspace / "note.txt").write_text("customer called\\n")
        return answer.text
    try:
        issue_refund(1042)
    except PermissionError:
        pass
    raise RuntimeError("lost the refund form")
"""
FILES = {
    "costar.toml": "[costar]\nsuite = 'scenarios'\nagent = 'show_agent:agent'\n",
    "show_agent.py": AGENT,
    "scenarios/refund.yaml": """
        id: refund-kettle
        input: ["My kettle (order 1042) arrived broken", "Yes, refund it"]
        setup:
          sqlite:
            shop.db:
              orders: [{id: 1042, status: delivered}]
        """,
    "scenarios/status.yaml": "id: order-status\ninput: Where is my kettle?\n",
    "judges/policy.yaml": """
        judges:
          - name: no-refunds
            use: tool-sequence
            params: {forbidden: [issue_refund]}
        """,
}
SCRIPT = {"rules": [{"when": {"user": "kettle"}, "reply": {"text": "Sorry, let me look at it."}}]}


def costar(project: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`costar ARGS` in process (Typer's runner) on a 100-column terminal."""
    return run_cli(project, *args, env={"COLUMNS": "100", **(env or {})})


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, template_db: Path):
    project = tmp_path_factory.mktemp("show")
    (project / ".costar").mkdir()
    (project / ".costar" / "mlflow.db").write_bytes(template_db.read_bytes())
    write_files(project, FILES)
    with FakeLLM(SCRIPT) as fake:
        env = {**fake.env("openai:/fake-model"), "MLFLOW_DISABLE_TELEMETRY": "true"}
        done = costar(project, "run", "--json", env=env)
        assert done.returncode == 1, done.stderr  # one trial ended in error
        summary = json.loads(done.stdout)
        assessed = costar(project, "assess", "--last", "--allow-errors", env=env)
        assert assessed.returncode == 0, assessed.stderr
    failed = next(f for f in summary["failures"] if f["scenario_id"] == "refund-kettle")
    return project, summary["run_id"], failed["trace_id"]


def test_show_prints_the_conversation_error_state_and_marked_evidence(recorded) -> None:
    project, run_id, trace_id = recorded
    done = costar(project, "show", trace_id[:10])
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert f"trace {trace_id}  status error" in out  # the full id, though a prefix was typed
    assert f"run {run_id}  scenario refund-kettle  trial 0" in out
    lines = out.splitlines()

    def at(text: str, after: int = 0) -> int:
        return next(i for i, line in enumerate(lines) if i >= after and text in line)

    # both turns in order, each with what the user said, the steps and the reply
    turn1 = at("turn 1")
    assert "user  My kettle (order 1042) arrived broken" in lines[turn1 + 1]
    model = at("model fake-model", turn1)
    usage = json.loads(costar(project, "show", trace_id, "--json").stdout)["tokens"]
    assert usage["input_tokens"] > 0  # as the fake LLM reported them
    tokens = f"{usage['input_tokens']} in / {usage['output_tokens']} out tokens"
    assert tokens in lines[model]
    assert "answer Sorry, let me look at it." in lines[model + 1]
    lookup = at("tool lookup_order", model)
    assert '"order_id": 1042' in "\n".join(lines[lookup : lookup + 4])
    assert "[bold]not markup[/]" in out  # trace text is printed, never read as markup
    assert "agent Sorry, let me look at it." in out
    turn2 = at("turn 2", lookup)
    assert "user  Yes, refund it" in lines[turn2 + 1]
    refund = at("tool issue_refund", turn2)
    assert "FAILED" in lines[refund] and "<< evidence: no-refunds" in lines[refund]
    assert "error PermissionError: refunds for order 1042 need a manager" in out
    assert "agent RuntimeError: lost the refund form" in lines[at("agent", refund)]
    # the error with the agent's traceback, down to the line that raised
    error = at("error ─", refund)
    assert "Traceback (most recent call last):" in out[out.index(lines[error]) :]
    assert 'raise RuntimeError("lost the refund form")' in out
    # the final state: the database table and the file
    state = at("final state", error)
    assert "shop.db: orders (1 rows)" in out[out.index(lines[state]) :]
    assert "refund requested" in out and "note.txt" in out
    # the verdicts with rationale and where their evidence is
    verdicts = "\n".join(lines[at("verdicts", state) :])
    assert "fail    no-refunds (check)  forbidden tool issue_refund called 1 time(s)" in verdicts
    assert ": turn 2, tool issue_refund" in verdicts
    assert "metric:tool_failure_ratio (metric) = 0.5" in verdicts


def test_show_json_and_run_view_and_prefixes(recorded) -> None:
    project, run_id, trace_id = recorded
    data = json.loads(costar(project, "show", trace_id, "--json").stdout)
    assert (data["trace_id"], data["status"], len(data["turns"])) == (trace_id, "error", 2)
    first, second = data["turns"]
    assert [s["kind"] for s in first["steps"]] == ["llm", "tool"]
    assert first["steps"][0]["tokens"]["total_tokens"] > 0
    refund = second["steps"][0]
    assert (refund["name"], refund["evidence"]) == ("issue_refund", ["no-refunds"])
    assert "PermissionError" in refund["error"]
    assert data["failure"]["type"] == "builtins.RuntimeError"
    assert "Traceback" in data["failure"]["traceback"]
    assert data["tables"][0]["rows"] == [["1042", "refund requested"]]
    assert [f["path"] for f in data["files"]] == ["note.txt"]
    fail = next(v for v in data["verdicts"] if v["judge"] == "no-refunds")
    assert fail["result"] == "fail" and fail["evidence"][0]["span_id"] == refund["span_id"]

    run = costar(project, "show", run_id[:6])
    assert run.returncode == 0, run.stderr
    assert trace_id in run.stdout  # full trace ids, which MLflow and `costar show` accept
    last = run.stdout.strip().splitlines()[-1]
    assert last.startswith(f"error refund-kettle#0 {trace_id}: RuntimeError: lost the refund")
    shown = json.loads(costar(project, "show", run_id, "--json").stdout)
    other = next(t for t in shown["scenarios"]["order-status"]["traces"])["trace_id"]
    assert shown["failures"] == [  # each trial that ended in error, with its reason
        {
            "scenario_id": "order-status",  # the agent's first turn needs the shop database
            "trial": 0,
            "status": "error",
            "trace_id": other,
            "error": "OperationalError: no such table: orders",
        },
        {
            "scenario_id": "refund-kettle",
            "trial": 0,
            "status": "error",
            "trace_id": trace_id,
            "error": "RuntimeError: lost the refund form",
        },
    ]
    # a bare hex prefix names the trace as well; unknown and ambiguous ids say so on one line
    assert costar(project, "show", trace_id[3:12], "--json").returncode == 0
    missing = costar(project, "show", "tr-ffffffffffff0000")
    assert missing.returncode == 2 and "no trace 'tr-ffffffffffff0000'" in missing.stderr
    assert "Traceback" not in missing.stderr
    ambiguous = costar(project, "show", "tr-")
    assert ambiguous.returncode == 2 and "is ambiguous" in ambiguous.stderr
    odd = costar(project, "show", "x%'")
    assert odd.returncode == 2 and "no run or trace" in odd.stderr
