"""Record a real agent's model traffic once (against the fake, standing in for a real model),
stop the model, replay: the same traces and verdicts. A changed prompt is a clear miss."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from costar.judges import TraceView, build, metrics
from costar.llm import FakeLLM
from costar.scenarios import load_suite
from costar.traces import TraceStore

EXAMPLE = Path(__file__).parents[2] / "examples" / "frameworks"
AGENT = "openai_agents_shop:agent"


def _costar(project: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "costar.cli", "run", "--agent", AGENT, "--json", *args],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _digest(project: Path, run_id: str) -> dict[str, dict]:
    """What a user compares between two runs: per scenario, the conversation and the verdicts."""
    store = TraceStore(f"sqlite:///{project}/.costar/mlflow.db")
    rows = store.run_traces(run_id)
    scenarios = {s.id: s.scenario for s in load_suite(project / "scenarios").scenarios}
    out = {}
    for trace in store.get_traces([r.trace_id for r in rows]):
        view = TraceView.from_mlflow(trace)
        values = metrics(view)
        out[view.scenario_id] = {
            "status": view.status,
            "replies": view.replies,
            "tools": [(c.name, c.args, c.result, c.error) for c in view.tool_calls()],
            "tokens": (values["llm_calls"], values["input_tokens"], values["output_tokens"]),
            "verdicts": [
                (j, build(j).score(view, scenarios[view.scenario_id]).passed)
                for j in ("expected-facts", "expected-tool-calls", "budgets")
            ],
        }
    return out


@pytest.mark.slow
def test_record_then_replay_without_a_model(tmp_path: Path, store_uri: str) -> None:
    for item in EXAMPLE.iterdir():
        copy = shutil.copytree if item.is_dir() else shutil.copyfile
        copy(item, tmp_path / item.name)
    base = {**os.environ, "SHOP_MODEL": "fake", "SHOP_STREAM": "1"}  # streamed Responses API
    recordings = tmp_path / "recordings"
    with FakeLLM(EXAMPLE / "fake_llm.yaml") as fake:
        recorded = _costar(tmp_path, {**base, **fake.env()}, "--llm-record", str(recordings))
        answered = len(fake.log)
    assert recorded.returncode in (0, 1), recorded.stderr[-2000:]
    files = sorted(recordings.glob("*.json"))
    assert files and answered == 9
    texts = [f.read_text() for f in files]
    assert all(json.loads(t)["version"] == 1 for t in texts)
    assert not any("fake-key" in t for t in texts)  # no key or header is stored

    # the model is gone: replay must not need it
    offline = {**base, "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "OPENAI_API_KEY": "none"}
    replayed = _costar(tmp_path, offline, "--llm-replay", str(recordings))
    assert replayed.returncode in (0, 1), replayed.stderr[-2000:]
    first = _digest(tmp_path, json.loads(recorded.stdout)["run_id"])
    second = _digest(tmp_path, json.loads(replayed.stdout)["run_id"])
    assert second == first
    assert first["lookup"]["replies"] == ["Order 1042 is shipped."]
    assert first["lookup"]["verdicts"] == [
        ("expected-facts", True),
        ("expected-tool-calls", True),
        ("budgets", True),
    ]

    lookup = tmp_path / "scenarios" / "lookup.yaml"
    lookup.write_text(lookup.read_text().replace("Where is order 1042?", "Where's order 1042?"))
    changed = _costar(tmp_path, offline, "--llm-replay", str(recordings), "--scenario", "lookup")
    assert changed.returncode == 2
    assert "llm replay: 1 model requests had no recording" in changed.stderr
    assert "scenario lookup trial 0 turn 1: no recording for POST /v1/responses" in changed.stderr
    assert "Where's order 1042?" in changed.stderr
