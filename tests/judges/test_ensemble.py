"""Ensembles: k samples of one LLM judge or several judges reduced to one verdict, carrying
the members' verdicts, their agreement and the summed cost; agreement measures it like any
judge."""

from __future__ import annotations

from pathlib import Path

import pytest
from _build import span, tool, view

from _helpers import make_verdict, write_files
from _judge_project import (  # noqa: F401 - fixtures
    assess_config,
    fake_llm,
    judge_script,
    label_all,
    recorded,
)
from costar._exceptions import ConfigError
from costar.judges import load_judges, reduce_verdicts
from costar.scenarios import Scenario

PANEL = """
judges:
  - name: tone
    use: guidelines
    params: {guidelines: ["Replies politely"]}
  - name: tone-x3
    use: ensemble
    params: {judge: tone, samples: 3, reduce: majority, temperature: 0.8}
  - name: refund-panel
    use: ensemble
    params: {judges: [output-present, tone], reduce: all}
"""
SCENARIO = Scenario.model_validate({"id": "s", "input": "x"})


def trace():
    return view(
        span("c1", "turn-1", "CHAIN", 0, 5, inputs="hi", outputs="Whatever."),
        tool("t1", "lookup_order", 1, {"order_id": 1}, {"status": "delivered"}),
        inputs={"turns": ["hi"]},
        output="Whatever.",
    )


def judges(root: Path, text: str = PANEL) -> dict:
    write_files(root, {"judges/panel.yaml": text})
    return {j.name: j for j in load_judges(root, ["judges"])}


def test_majority_of_three_samples_with_one_dissent(tmp_path: Path, fake_llm) -> None:
    fake = fake_llm(
        {
            "rules": [
                {"when": {}, "times": 1,
                 "reply": {"json": {"passed": False, "rationale": "curt"}}},
                {"when": {}, "reply": {"json": {"passed": True, "rationale": "polite enough"}}},
            ]
        }
    )  # fmt: skip
    ensemble = judges(tmp_path)["tone-x3"]
    assert ensemble.kind == "llm"
    verdict = ensemble.score(trace(), SCENARIO)
    assert (verdict.status, verdict.passed) == ("ok", True), verdict.error
    members = verdict.details["members"]
    assert [m["passed"] for m in members] == [False, True, True]
    assert [m["sample"] for m in members] == [0, 1, 2]
    assert verdict.details["agreement"] == pytest.approx(2 / 3, abs=1e-3)
    assert verdict.value == pytest.approx(2 / 3, abs=1e-3)
    assert "2 pass, 1 fail" in verdict.rationale and "dissent: curt" in verdict.rationale
    assert verdict.cost.llm_calls == 3 == len(fake.requests)
    assert verdict.cost.input_tokens == sum(
        u["prompt_tokens"] if "prompt_tokens" in u else u["input_tokens"] for u in fake.usage
    )
    assert {r["temperature"] for r in fake.requests} == {0.8}  # the samples are sampled


def test_all_over_a_check_and_an_llm_judge(tmp_path: Path, fake_llm) -> None:
    fake_llm({"rules": [{"when": {}, "reply": {"json": {"passed": False, "rationale": "curt"}}}]})
    panel = judges(tmp_path)["refund-panel"]
    verdict = panel.score(trace(), SCENARIO)
    assert (verdict.status, verdict.passed) == ("ok", False)
    assert [(m["judge"], m["passed"]) for m in verdict.details["members"]] == [
        ("output-present", True),
        ("tone", False),
    ]
    assert verdict.details["agreement"] == 0.5 and verdict.cost.llm_calls == 1


def test_a_member_error_is_an_ensemble_error_never_a_verdict(tmp_path: Path, fake_llm) -> None:
    fake_llm(
        {"rules": [{"when": {}, "fault": {"kind": "500", "times": 2}},  # both attempts of one call
                   {"when": {}, "reply": {"json": {"passed": True}}}]}
    )  # fmt: skip
    verdict = judges(tmp_path)["tone-x3"].score(trace(), SCENARIO)
    assert verdict.status == "error" and verdict.passed is None
    assert "1 of 3 members failed" in verdict.error
    assert [m["status"] for m in verdict.details["members"]] == ["error", "ok", "ok"]


def test_reductions() -> None:
    def v(passed=None, value=None):
        return make_verdict("m", "s", passed=passed, value=value)

    votes = [v(True), v(True), v(False)]
    assert reduce_verdicts(votes, "majority") == (True, pytest.approx(2 / 3))
    assert reduce_verdicts(votes, "all")[0] is False and reduce_verdicts(votes, "any")[0]
    assert reduce_verdicts(votes, "min") == (False, 0.0)
    assert reduce_verdicts(votes, "max") == (True, 1.0)
    assert reduce_verdicts(votes, "mean", threshold=0.7)[0] is False
    assert reduce_verdicts([v(True), v(False)], "majority")[0] is False  # a tie fails
    assert reduce_verdicts([v(value=0.2), v(value=0.9)], "mean") == (True, pytest.approx(0.55))


def test_a_members_change_re_versions_the_ensemble(tmp_path: Path) -> None:
    before = judges(tmp_path)
    after = judges(tmp_path, PANEL.replace("Replies politely", "Replies kindly"))
    assert after["tone-x3"].version != before["tone-x3"].version
    assert after["refund-panel"].version != before["refund-panel"].version
    assert after["output-present"].version == before["output-present"].version


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{judge: nope, samples: 3}", "no judge 'nope'"),
        ("{judges: [tone], reduce: median}", "reduce must be one of"),
        ("{judge: output-present, samples: 3}", "samples need one LLM or agentic judge"),
    ],
)
def test_bad_ensembles_say_what_is_wrong(tmp_path: Path, params: str, message: str) -> None:
    text = PANEL + f"  - name: bad\n    use: ensemble\n    params: {params}\n"
    with pytest.raises(ConfigError, match=message):
        judges(tmp_path, text)


def test_agreement_measures_an_ensemble_like_any_judge(recorded, fake_llm) -> None:
    from costar.align import GoldenSet, Label, measure
    from costar.traces import TraceStore

    project, run_id = recorded
    write_files(
        project,
        {"judges/x3.yaml": "judges:\n  - name: tone-x3\n    use: ensemble\n"
         "    params: {judge: tone, samples: 3}\n"},
    )  # fmt: skip
    fake_llm(judge_script(learned="unused"))
    config = assess_config(project)
    store = TraceStore(config.tracking_uri)
    rows = store.run_traces(run_id)
    GoldenSet(store).add(
        Label(trace_id=r.trace_id, judge="tone-x3", value=True, labeller="ann") for r in rows
    )
    report = measure(config, ["tone-x3"])
    (found,) = report.agreements
    assert found.judge == "tone-x3" and found.n == len(rows) and found.accuracy == 1.0


def test_aligning_an_ensemble_aligns_its_llm_member_on_the_ensembles_labels(
    recorded, fake_llm
) -> None:
    from costar.align import AlignConfig, align_judge

    project, run_id = recorded
    write_files(
        project,
        {"judges/x3.yaml": "judges:\n  - name: tone-x3\n    use: ensemble\n"
         "    params: {judge: tone, samples: 3, temperature: 0.5}\n"},
    )  # fmt: skip
    config = assess_config(project)
    label_all(project, run_id, judge="tone-x3")
    fake_llm(judge_script(learned="Large refunds need approval"))
    before = {j.name: j for j in load_judges(project, config.judge_paths)}

    result = align_judge(AlignConfig(assess=config, judge="tone-x3", folds=2))

    assert result.accepted, result.reason
    assert result.judge == "tone-x3" and result.after.kappa == pytest.approx(1.0)
    assert result.path == project / "judges" / "aligned" / "tone.yaml"  # the member is written
    assert "temperature" not in result.params  # the samples' temperature stays the ensemble's
    after = {j.name: j for j in load_judges(project, config.judge_paths)}
    assert after["tone-x3"].version == result.new_version != before["tone-x3"].version
    assert after["tone-x3"].members[0].params["learned"] == ["Large refunds need approval"]
    assert after["tone-x3"].members[0].params["temperature"] == 0.5
