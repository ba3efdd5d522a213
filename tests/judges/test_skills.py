"""skills-invoked on constructed traces: a targeted skill must show (as the project declares)
before the model call that gave the final answer; the agentic variant asks a judge model."""

from __future__ import annotations

from _build import llm, span, tool, view

from _judge_project import fake_llm  # noqa: F401 - fixture
from costar.judges import build
from costar.scenarios import Scenario


def scenario(*skills: str) -> Scenario:
    return Scenario.model_validate(
        {"id": "s", "input": "x", "expectations": {"skills": list(skills)}}
    )


def trace(*steps):
    """One turn: the given steps, then the model call that writes the final answer at 8 s."""
    return view(
        span("c1", "turn-1", "CHAIN", 0, 9, inputs="refund 1042", outputs="Done."),
        *steps,
        llm("final", 8, 100, 20),
        inputs={"turns": ["refund 1042"]},
        output="Done.",
    )


READ_REFUNDS = tool("t1", "read_file", 1, {"path": "/work/.claude/skills/refunds/SKILL.md"})


def test_passes_when_every_targeted_skill_shows_before_the_final_answer() -> None:
    declared = {"skills": {"escalation": {"tool": "escalate_to_human"}}}
    judge = build("skills-invoked", params=declared)
    verdict = judge.score(
        trace(READ_REFUNDS, tool("t2", "escalate_to_human", 2, {"reason": "asked"})),
        scenario("refunds", "escalation"),
    )
    assert (verdict.status, verdict.passed) == ("ok", True), verdict
    assert verdict.evidence == ["t1", "t2"]


def test_names_the_skills_not_used_and_those_used_only_after_the_answer() -> None:
    late = tool("t9", "read_file", 8.8, {"path": "skills/escalation.md"})
    verdict = build("skills-invoked").score(
        trace(READ_REFUNDS, late), scenario("refunds", "escalation", "address-changes")
    )
    assert (verdict.status, verdict.passed) == ("ok", False)
    assert verdict.rationale == (
        "not used: address-changes; used only after the final answer: escalation"
    )
    assert verdict.evidence == ["t1", "t9", "final"]


def test_declared_signals_a_span_name_and_a_file_glob() -> None:
    params = {
        "skills": {
            "summarise": {"span": r"skill:summar\w+"},
            "refunds": {"file": "prompts/refunds*.md"},
        }
    }
    judge = build("skills-invoked", params=params)
    steps = (
        span("k1", "skill:summarise", "CHAIN", 1, 2),
        tool("t1", "open", 3, {"target": {"file": "repo/prompts/refunds-v2.md"}}),
    )
    assert judge.score(trace(*steps), scenario("summarise", "refunds")).passed is True
    other = tool("t1", "open", 3, {"target": "prompts/address.md"})
    missed = judge.score(trace(steps[0], other), scenario("summarise", "refunds"))
    assert missed.passed is False and missed.rationale == "not used: refunds"


def test_a_scenario_without_skills_is_skipped_and_skills_change_its_inputs() -> None:
    judge = build("skills-invoked")
    assert judge.score(trace(READ_REFUNDS), scenario()).status == "skipped"
    assert judge.inputs(scenario("refunds")) != judge.inputs(scenario("escalation"))
    # scenarios without skills dump as before the field existed: nothing is re-scored
    assert "skills" not in scenario().model_dump(mode="json")["expectations"]


def test_the_agentic_variant_reads_the_models_messages(fake_llm) -> None:
    fake = fake_llm(
        {
            "rules": [
                {"when": {"last_role": "tool"},
                 "reply": {"tool_calls": [{"name": "finish", "arguments": {
                     "passed": False, "rationale": "never followed: escalation"}}]}},
                {"when": {"last_role": "user", "user": "- refunds: the refund steps"},
                 "reply": {"tool_calls": [{"name": "list_spans",
                                           "arguments": {"span_type": "CHAT_MODEL"}}]}},
            ]
        }
    )  # fmt: skip
    params = {"skills": {"refunds": {"description": "the refund steps"}}}
    verdict = build("skills-agentic", params=params).score(
        trace(READ_REFUNDS), scenario("refunds", "escalation")
    )
    assert (verdict.status, verdict.passed) == ("ok", False), verdict.error
    assert verdict.rationale == "never followed: escalation" and verdict.cost.llm_calls == 2
    task = fake.requests[0]["messages"][1]["content"]
    assert "- refunds: the refund steps" in task and "- escalation" in task
    assert build("skills-agentic").score(trace(), scenario()).status == "skipped"
