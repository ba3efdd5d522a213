"""`costar align` end to end: MLflow's MemAlign against the scripted fake LLM, k-fold
cross-validation, accepted only when held-out agreement rises."""

from __future__ import annotations

import json

import pytest
import yaml

from _helpers import run_cli
from _judge_project import (  # noqa: F401 - fixtures
    assess_config,
    fake_llm,
    judge_script,
    label_all,
    optimizer_script,
    record,
    recorded,
    refund,
)
from costar.align import AlignConfig, AlignError, align_judge
from costar.judges import load_judges

pytestmark = pytest.mark.loop


def test_alignment_that_helps_on_held_out_folds_is_accepted_and_written(recorded, fake_llm) -> None:
    project, run_id = recorded
    label_all(project, run_id)
    fake = fake_llm(judge_script(learned="Large refunds need approval"))
    cfg = assess_config(project)
    before_version = load_judges(project, cfg.judge_paths, ["tone"])[0].version

    result = align_judge(AlignConfig(assess=cfg, judge="tone", folds=3))

    assert result.accepted, result.reason
    assert result.before.kappa == pytest.approx(0.0) and result.after.kappa == pytest.approx(1.0)
    assert sum(f.test for f in result.folds) == 12 and len(result.folds) == 3
    assert all("Large refunds need approval" in f.change for f in result.folds)
    # the aligned judge is a reviewable file that now wins over the old definition
    assert result.path == project / "judges" / "aligned" / "tone.yaml"
    saved = yaml.safe_load(result.path.read_text())
    params = saved["judges"][0]["params"]
    assert params["learned"] == ["Large refunds need approval"]
    assert params["model"] == "openai:/judge-model"  # costar's configuration is kept
    assert saved["alignment"]["from_version"] == before_version
    judge = load_judges(project, cfg.judge_paths, ["tone"])[0]
    assert judge.version == result.new_version != before_version
    # the optimizer's distillation really went to the model, and saw the human rationales
    distill = [r for r in fake.requests if "distill a set of guidelines" in json.dumps(r)]
    assert distill and "manager" in json.dumps(distill[0])


def test_alignment_that_does_not_help_is_rejected_with_the_reason(recorded, fake_llm) -> None:
    project, run_id = recorded
    label_all(project, run_id)
    fake_llm(judge_script(learned="Replies are short"))
    cfg = assess_config(project)
    before_version = load_judges(project, cfg.judge_paths, ["tone"])[0].version

    result = align_judge(AlignConfig(assess=cfg, judge="tone", folds=3))

    assert not result.accepted
    assert "did not improve" in result.reason and "kappa 0.00" in result.reason
    assert result.path is None and not (project / "judges" / "aligned").exists()
    assert load_judges(project, cfg.judge_paths, ["tone"])[0].version == before_version
    history = list((project / ".costar" / "align").glob("tone-*.json"))
    assert history and json.loads(history[0].read_text())["accepted"] is False


def test_too_few_labels_or_a_check_judge_is_a_clear_error(recorded, fake_llm) -> None:
    project, run_id = recorded
    fake_llm(judge_script(learned="x"))
    cfg = assess_config(project)
    with pytest.raises(AlignError, match="has 0 usable pass/fail labels.*costar label"):
        align_judge(AlignConfig(assess=cfg, judge="tone"))
    with pytest.raises(AlignError, match="only LLM judges"):
        align_judge(AlignConfig(assess=cfg, judge="output-present"))


def test_align_command_exits_1_when_rejected_and_0_when_accepted(recorded, fake_llm) -> None:
    project, run_id = recorded
    label_all(project, run_id)
    fake_llm(judge_script(learned="Replies are short"))

    def align(*args):
        return run_cli(project, "align", "tone", *args)

    rejected = align("--folds", "2")
    assert rejected.returncode == 1, rejected.stderr
    assert "rejected: held-out agreement did not improve" in rejected.stdout
    bad = align("--optimizer", "nope")
    assert bad.returncode == 2 and "unknown optimizer 'nope'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_gepa_rewrites_the_instructions_and_is_accepted_when_held_out_agreement_rises(
    project, fake_llm, capfd
) -> None:
    run_id = record(project, 24)  # DSPy optimizers want 10 labelled traces per training split
    label_all(project, run_id)
    fake_llm(optimizer_script())

    config = AlignConfig(assess=assess_config(project), judge="tone", optimizer="gepa", folds=2)
    result = align_judge(config)

    assert result.accepted, result.reason
    assert result.after.kappa == pytest.approx(1.0) and result.before.kappa == pytest.approx(0.0)
    assert result.params["instructions"].startswith("Large refunds need approval")
    assert result.params["guidelines"] == []  # folded into the rewritten instructions
    assert "{{" not in result.params["instructions"]
    assert "INFO dspy" not in capfd.readouterr().err  # the optimizer's chatter is kept quiet


def test_simba_runs_end_to_end_and_explains_a_rejection(project, fake_llm) -> None:
    run_id = record(project, 24)
    label_all(project, run_id)
    fake_llm(optimizer_script())  # deterministic answers leave SIMBA nothing to learn from

    config = AlignConfig(
        assess=assess_config(project), judge="tone", optimizer="simba", folds=2, budget=1
    )
    result = align_judge(config)

    assert not result.accepted and result.reason.startswith("rejected: held-out agreement")
