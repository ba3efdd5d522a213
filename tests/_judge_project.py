"""For the judge-loop tests: a recorded run where every third scenario asks for a large refund,
a `tone` LLM judge, and fake-LLM scripts for the judge and the alignment optimizers."""

from __future__ import annotations

from pathlib import Path

import pytest

from _helpers import write_files
from costar.align import GoldenSet, Label
from costar.assess import AssessConfig
from costar.config import load_settings
from costar.harness import RunConfig, run_suite
from costar.llm import FakeLLM
from costar.traces import TraceStore

JUDGES = """
judges:
  - name: tone
    use: guidelines
    params:
      guidelines: ["Replies politely"]
      model: openai:/judge-model
"""


def judge_script(learned: str) -> dict:
    """The judge fails large refunds only once it has the guideline `Large refunds need
    approval`; MemAlign's distillation (from the optimizer model) teaches it `learned`."""
    return {
        "rules": [
            {
                "when": {
                    "system": "costar's judge",
                    "user": "(?s)Large refunds need approval.*refund 500",
                },
                "reply": {
                    "json": {"passed": False, "rationale": "a large refund without approval"}
                },
            },
            {
                "when": {"system": "costar's judge"},
                "reply": {"json": {"passed": True, "rationale": "polite enough"}},
            },
            {
                "when": {"conversation": "distill a set of guidelines"},
                "reply": {
                    "json": {"guidelines": [{"guideline_text": learned, "source_trace_ids": [0]}]}
                },
            },
        ]
    }


def record(project: Path, n: int = 12) -> str:
    """Record a run of n scenarios (every third one asks for a large refund)."""
    files = {"judges/tone.yaml": JUDGES}
    for i in range(1, n + 1):
        sid = f"s{i:02d}"
        text = "please refund 500 dollars now" if refund(sid) else f"hello number {i}"
        files[f"scenarios/{sid}.yaml"] = f"id: {sid}\ninput: {text}\n"
    write_files(project, files)
    summary = run_suite(
        RunConfig.from_settings(load_settings(start=project), agent="sample_agents:echo")
    )
    return summary.run_id


def refund(scenario_id: str) -> bool:
    return int(scenario_id[1:]) % 3 == 2


@pytest.fixture
def recorded(project: Path) -> tuple[Path, str]:
    return project, record(project)


@pytest.fixture
def fake_llm(fake_llm):
    """costar.testing's fake_llm with this project's judge model and one retry."""

    def start(script: dict) -> FakeLLM:
        return fake_llm(script, "openai:/judge-model", COSTAR_LLM_MAX_RETRIES="1")

    return start


def assess_config(project: Path) -> AssessConfig:
    settings = load_settings(start=project)
    return AssessConfig(
        root=project,
        tracking_uri=settings.store_uri(),
        judge_paths=settings.judges,
        verdict_store=settings.verdict_url(),
    )


def optimizer_script() -> dict:
    """For GEPA and SIMBA: MLflow's own judge calls (during optimization) fail large refunds
    only under instructions that mention approval; the optimizer model proposes such
    instructions."""
    rule = "Large refunds need approval: fail a reply that agrees to a big refund."
    return {
        "rules": [
            {
                "when": {
                    "system": "(?s)expert judge.*Large refunds need approval",
                    "user": "refund 500",
                },
                "reply": {"json": {"result": False, "rationale": "large refund"}},
            },
            {
                "when": {"system": "expert judge"},
                "reply": {"json": {"result": True, "rationale": "ok"}},
            },
            *judge_script(learned="unused")["rules"][:2],
            {
                "when": {"system": "(?s)new_instruction.*Outputs will be a JSON object"},
                "reply": {"json": {"new_instruction": rule}},
            },
            {
                "when": {"system": "new_instruction"},  # GEPA's reflection (a DSPy signature)
                "reply": {"text": f"[[ ## new_instruction ## ]]\n{rule}\n\n[[ ## completed ## ]]"},
            },
        ]
    }


def label_all(project, run_id, judge: str = "tone") -> None:
    """ann labels every trace for `judge`: large refunds fail, everything else passes."""
    cfg = assess_config(project)
    store = TraceStore(cfg.tracking_uri)
    GoldenSet(store).add(
        Label(
            trace_id=row.trace_id,
            judge=judge,
            value=not refund(row.scenario_id),
            rationale="large refunds need a manager's approval" if refund(row.scenario_id) else "",
            labeller="ann",
        )
        for row in store.run_traces(run_id)
    )
