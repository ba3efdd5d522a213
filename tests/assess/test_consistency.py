"""Judge self-consistency: k samples of an LLM judge on the same traces."""

from __future__ import annotations

import json
from pathlib import Path

from _helpers import run_cli, write_files
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.llm import FakeLLM

SCRIPT = {
    "rules": [
        {
            "times": 1,
            "when": {"system": "costar's judge"},
            "reply": {"json": {"passed": False, "rationale": "unsure"}},
        },
        {
            "when": {"system": "costar's judge"},
            "reply": {"json": {"passed": True, "rationale": "fine"}},
        },
    ]
}


def test_a_judge_that_wavers_once_splits_one_trace(project: Path) -> None:
    write_files(
        project,
        {
            "scenarios/a.yaml": "id: a\ninput: hi\nexpectations: {guidelines: [Be polite]}\n",
            "scenarios/b.yaml": "id: b\ninput: ho\nexpectations: {guidelines: [Be brief]}\n",
        },
    )
    settings = load_settings(start=project)
    run_id = run_suite(RunConfig.from_settings(settings, agent="sample_agents:echo")).run_id
    (project / "judges").mkdir()
    (project / "judges" / "llm.yaml").write_text("judges:\n  - {name: polite, use: guidelines}\n")
    with FakeLLM(SCRIPT) as fake:
        env = {**__import__("os").environ, **fake.env("openai:/judge")}
        done = run_cli(
            project,
            "judges",
            "consistency",
            run_id,
            "--judge",
            "polite",
            "-k",
            "3",
            "--json",
            env=env,
        )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["traces"], result["k"], result["errors"]) == (2, 3, 0)
    assert len(result["split"]) == 1 and result["unanimous"] == 0.5
    assert result["pairwise"] == round(4 / 6, 4)  # [F, T, T] agrees on 1 of 3 pairs, [T]*3 on 3
