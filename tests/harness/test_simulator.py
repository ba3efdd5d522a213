"""Simulated users: an LLM (the scripted fake) plays the scenario's `user:` block, the fidelity
judge checks it, and flagged trials stay out of the agent's pass rates and the gate."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from _judge_project import assess_config, fake_llm  # noqa: F401 - the fixture
from costar.assess import VerdictStore, assess, simulator_faults, summarise
from costar.config import load_settings
from costar.gate import evaluate, junit_xml
from costar.gate._policy import GatePolicy
from costar.harness import RunConfig, run_suite
from costar.judges import FIDELITY_JUDGE, TraceView, metrics
from costar.traces import SIMULATOR_SPAN, TraceStore

SIM = "costar's simulated user"
FIDELITY = "simulator-fidelity judge"


def sim(when: dict, message: str = "", stop: bool = False) -> dict:
    return {
        "when": {"system": SIM, **when},
        "reply": {"json": {"message": message, "stop": stop}},
    }


def run(project: Path, **flags) -> str:
    settings = load_settings(start=project)
    summary = run_suite(RunConfig.from_settings(settings, **flags))
    assert summary.status == "finished"
    return summary.run_id


def views(project: Path, run_id: str) -> dict[str, TraceView]:
    store = TraceStore(load_settings(start=project).store_uri())
    rows = store.run_traces(run_id)
    found = [TraceView.from_mlflow(t) for t in store.get_traces([r.trace_id for r in rows])]
    return {f"{v.scenario_id}#{v.trial}": v for v in found}


REFUND = """
id: refund
user:
  goal: get a refund for the broken kettle
  persona: a polite customer
  knows: {order number: 1042}
  max_turns: 5
"""


def test_a_simulated_user_reaches_its_goal_and_stops(project: Path, fake_llm) -> None:  # noqa: F811
    fake_llm(
        {
            "rules": [
                sim({"last_message": "conversation starts"}, "Hi, my kettle arrived broken."),
                sim({"last_message": "turn 0 saw 0"}, "It is order 1042."),
                sim({"last_message": "turn 1 saw 2"}, stop=True),
            ]
        }
    )
    write_files(project, {"scenarios/refund.yaml": REFUND})
    run_id = run(project, agent="sample_agents:counter")
    view = views(project, run_id)["refund#0"]
    assert view.status == "ok"
    assert view.turns == ["Hi, my kettle arrived broken.", "It is order 1042."]
    # the agent got the history as with fixed turns: its second turn saw the first exchange
    assert view.replies == ["turn 0 saw 0 messages", "turn 1 saw 2 messages"]
    assert view.tags["costar.simulator.stop"] == "stopped"
    asked = view.spans_of(SIMULATOR_SPAN)
    assert len(asked) == 3  # two messages, then the stop
    assert {s.parent_id for s in asked} == {view.root.span_id}  # never inside an agent turn
    assert (
        asked[0].attributes["costar.simulator.seed"] == asked[1].attributes["costar.simulator.seed"]
    )
    # the simulator's cost is its own: the agent made no model call
    values = metrics(view)
    assert values["llm_calls"] == 0 and values["total_tokens"] is None
    assert values["simulator_llm_calls"] == 3 and values["simulator_total_tokens"] > 0
    priced = metrics(view, {"judge-model": {"input_per_1m": 1e6, "output_per_1m": 0}})
    assert priced["cost_usd"] is None and priced["simulator_cost_usd"] > 0
    assert values["steps"] == 0
    shown = run_cli(project, "show", view.trace_id)
    assert shown.returncode == 0, shown.stderr
    assert "simulated user: openai:/judge-model, 3 model calls, ended: stopped" in shown.stdout


def test_a_stalling_user_hits_max_turns(project: Path, fake_llm) -> None:  # noqa: F811
    fake_llm({"rules": [sim({}, "Hello? Is anyone there?")]})
    write_files(
        project,
        {"scenarios/refund.yaml": REFUND.replace("max_turns: 5", "max_turns: 3")},
    )
    run_id = run(project, agent="sample_agents:echo")
    view = views(project, run_id)["refund#0"]
    assert view.status == "ok"
    assert view.turns == ["Hello? Is anyone there?"] * 3
    assert len(view.turn_spans()) == 3
    assert view.tags["costar.simulator.stop"] == "max_turns"
    assert len(view.spans_of(SIMULATOR_SPAN)) == 3  # the fourth turn is never asked for


@pytest.mark.slow
def test_a_simulated_user_talks_to_a_command_agent(project: Path, fake_llm) -> None:  # noqa: F811
    fake_llm(
        {
            "rules": [
                sim({"last_message": "conversation starts"}, "Where is my order?"),
                sim({"last_message": "turn 0, history 0"}, "It is order 1042."),
                sim({}, stop=True),
            ]
        }
    )
    write_files(project, {"scenarios/refund.yaml": REFUND})
    agent = f"cmd:{sys.executable} sample_agents.py ok"
    run_id = run(project, agent=agent)
    view = views(project, run_id)["refund#0"]
    assert view.status == "ok", view.error
    assert view.replies == [
        "cmd: Where is my order? (turn 0, history 0)",
        "cmd: It is order 1042. (turn 1, history 2)",
    ]
    assert view.tags["costar.simulator.stop"] == "stopped"


def test_a_simulated_user_talks_to_an_http_agent_with_its_history(
    project: Path,
    fake_llm,  # noqa: F811
) -> None:
    # the fake LLM's own chat-completions endpoint is the HTTP agent too: its rules answer the
    # simulator (first) and the agent, which refunds only when the history holds both messages
    fake = fake_llm(
        {
            "rules": [
                sim({"last_message": "conversation starts"}, "My kettle broke."),
                sim({"last_message": "Which order"}, "Order 1042."),
                sim({}, stop=True),
                {
                    "when": {"conversation": "(?s)kettle broke.*Order 1042"},
                    "reply": {"text": "Refunding the kettle of order 1042."},
                },
                {"when": {}, "reply": {"text": "Which order?"}},
            ]
        }
    )
    write_files(project, {"scenarios/refund.yaml": REFUND})
    run_id = run(project, agent=f"{fake.base_url}/chat/completions")
    view = views(project, run_id)["refund#0"]
    assert view.status == "ok", view.error
    assert view.replies == ["Which order?", "Refunding the kettle of order 1042."]
    assert view.tags["costar.simulator.stop"] == "stopped"


def test_waiting_for_the_simulator_is_not_the_agents_time(
    project: Path,
    fake_llm,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the simulator's first answer takes longer than the whole trial may (a stalled attempt,
    # then a retry); the agent still gets its full timeout for its turn
    monkeypatch.setenv("COSTAR_LLM_TIMEOUT", "1")
    fake_llm(
        {
            "rules": [
                {"when": {"system": SIM}, "fault": {"kind": "timeout", "delay": 3, "times": 1}},
                sim({"last_message": "conversation starts"}, "Hello?"),
                sim({}, stop=True),
            ]
        }
    )
    write_files(project, {"scenarios/refund.yaml": REFUND})
    run_id = run(project, agent="sample_agents:echo", timeout=1.0)
    view = views(project, run_id)["refund#0"]
    assert view.status == "ok", view.error
    assert view.replies == ["echo: Hello?"]
    (first, _) = view.spans_of(SIMULATOR_SPAN)
    assert first.seconds > 1.0  # longer than the trial's timeout


PAIR = """
id: {id}
user:
  goal: {mark} get a refund for the broken kettle
  knows: {{order number: 1042}}
  max_turns: 2
expectations:
  reply_matches: ["refund issued"]
"""
LEAKY = PAIR.format(id="leaky", mark="LEAKY")
CAREFUL = PAIR.format(id="careful", mark="CAREFUL")
CAUGHT = {
    "rules": [
        # the fidelity judge: a first user message with the order number was not asked for
        {
            "when": {"system": FIDELITY, "user": r'"turn": 1, "user": "[^"]*1042'},
            "reply": {
                "json": {
                    "faithful": False,
                    "faults": [{"kind": "revealed", "turn": 1, "detail": "order number unasked"}],
                    "rationale": "volunteered a fact from knows",
                }
            },
        },
        {"when": {"system": FIDELITY}, "reply": {"json": {"faithful": True, "faults": []}}},
        # the leaky simulator volunteers the order number at once; the careful one does not
        sim({"system": "LEAKY", "last_message": "conversation starts"}, "Refund order 1042."),
        sim({"system": "CAREFUL", "last_message": "conversation starts"}, "My kettle broke."),
        sim({}, stop=True),
    ]
}


def test_the_fidelity_judge_catches_a_leak_and_its_trial_leaves_pass_rates_and_gate(
    project: Path,
    fake_llm,  # noqa: F811
) -> None:
    fake_llm(CAUGHT)
    write_files(project, {"scenarios/leaky.yaml": LEAKY, "scenarios/careful.yaml": CAREFUL})
    # the agent says "refund issued" only when handed an order number: it passes the leaky
    # conversation because the simulator cheated, and fails the careful one
    write_files(
        project,
        {
            "refunder.py": """
                def agent(ctx):
                    return "refund issued" if "1042" in ctx.input else "which order?"
                """
        },
    )
    run_id = run(project, agent="refunder:agent")
    config = assess_config(project)
    config.run_ids = [run_id]
    done = assess(config)
    faults = done.simulator_faults[run_id]
    assert (faults.checked, faults.faults) == (2, 1)
    found = VerdictStore(config.verdict_store).for_run(run_id)
    fidelity = {v.scenario_id: v for v in found if v.judge == FIDELITY_JUDGE}
    assert fidelity["leaky"].passed is False and fidelity["careful"].passed is True
    assert "revealed" in fidelity["leaky"].rationale
    assert fidelity["leaky"].evidence  # the turn that leaked

    summary = summarise(found)
    matches = summary["reply-matches"]
    # the leaky trial's pass is the simulator's, not the agent's: only the careful one counts
    assert (matches.passed, matches.failed, matches.rate) == (0, 1, 0.0)
    assert matches.simulator_faults == 1
    rate = simulator_faults(found)
    assert rate is not None and rate.rate == 0.5 and rate.ci[0] < 0.5 < rate.ci[1]
    assert rate.trials[0]["scenario_id"] == "leaky"
    assert rate.trials[0]["status"] == "simulator fault"

    gate = evaluate(None, found, GatePolicy(min_pass_rate={"reply-matches": 0.5}))
    checks = {(c.judge, c.rule): c for c in gate.checks}
    # with the leaky pass counted the agent would reach 50%; without it, it has 0%
    assert not checks[("reply-matches", "min_pass_rate")].ok
    assert FIDELITY_JUDGE not in {c.judge for c in gate.checks}
    assert gate.simulator is not None and gate.simulator.faults == 1

    cases = junit_xml(found, result=gate)
    assert 'name="leaky#0"><skipped message="simulator fault' in cases

    report = run_cli(project, "report", run_id)
    assert report.returncode == 0, report.stderr
    assert "simulator faults: 1 of 2 simulated trials (50%, 95% CI" in report.stdout
    assert "simulator fault: leaky#0" in report.stdout


def test_a_failing_simulator_is_a_fault_and_never_the_agents(project: Path, fake_llm) -> None:  # noqa: F811
    fake_llm({"rules": [{"when": {"system": SIM}, "reply": {"text": "not json at all"}}]})
    write_files(project, {"scenarios/refund.yaml": REFUND})
    run_id = run(project, agent="sample_agents:echo")
    view = views(project, run_id)["refund#0"]
    assert view.status == "error"
    assert "did not answer JSON" in view.tags["costar.simulator.error"]
    config = assess_config(project)
    config.run_ids = [run_id]
    assess(config)
    found = VerdictStore(config.verdict_store).for_run(run_id)
    rate = simulator_faults(found)
    assert rate is not None and rate.faults == 1
    assert summarise(found)["output-present"].verdicts == 0  # left out, not failed


def test_no_simulator_model_is_one_clear_line(project: Path) -> None:
    write_files(project, {"scenarios/refund.yaml": REFUND})
    done = run_cli(project, "run", "--agent", "sample_agents:echo")
    assert done.returncode == 2
    assert "simulator_model" in done.stderr and "Traceback" not in done.stderr
