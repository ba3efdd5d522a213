"""Attribution and its counterfactual check on the planted-cause agent: the wrong tool result at
step 3 surfaces as the state check failing after step 7."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _project import RIGHT, fake, refund_project, script  # noqa: F401 - fixtures

from _helpers import run_cli
from costar._exceptions import UsageError
from costar.assess import AssessConfig, assess
from costar.config import load_settings
from costar.explain import ExplainConfig, explain, load
from costar.harness import RunConfig, run_suite


def _failing_trace(project: Path) -> str:
    settings = load_settings(start=project)
    summary = run_suite(RunConfig.from_settings(settings))
    assess(
        AssessConfig(
            root=project, tracking_uri=settings.store_uri(), run_ids=[summary.run_id], mirror=False
        )
    )
    (failure,) = summary.failures or [None]
    assert failure is None  # the trial ran; it is the judge that fails it
    from costar.traces import TraceStore

    (row,) = TraceStore(settings.store_uri()).run_traces(summary.run_id)
    return row.trace_id


def _run_of(project: Path, trace_id: str) -> str:
    from costar.traces import TraceStore

    (trace,) = TraceStore(load_settings(start=project).store_uri()).get_traces([trace_id])
    return trace.info.tags["costar.run_id"]


def _config(project: Path, trace_id: str, **fields) -> ExplainConfig:
    settings = load_settings(start=project)
    return ExplainConfig(
        root=project,
        tracking_uri=settings.store_uri(),
        target=trace_id,
        judges=["final-state"],
        read_only=settings.read_only,
        **fields,
    )


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_attribution_names_step_3_and_the_corrected_replay_confirms_it(
    refund_project: Path, fake
) -> None:
    server = fake()
    trace_id = _failing_trace(refund_project)
    before = len(server.requests)
    summary = explain(_config(refund_project, trace_id, verify=True))
    (a,) = summary.attributions
    assert (a.step, a.kind, a.name, a.method) == (3, "tool_result", "lookup_order", "agentic")
    assert a.llm_calls == 2 and a.confidence == 0.8
    # deterministic evidence came first: the state change the failing check contradicts
    assert [(e.step, e.rule) for e in a.evidence] == [(7, "state_change")]
    assert a.verification is not None and a.status == "confirmed", a.verification
    assert a.verification.trials == a.verification.passed == 1
    assert summary.counts["confirmed"] == 1
    # the counterfactual replayed steps 1-2, served the correction at 3, ran the rest live
    agent_calls = [r for r in server.requests[before:] if "refund agent" in json.dumps(r)]
    assert len(agent_calls) == 3  # steps 4, 6 and the reply: live model calls after step 3
    assert load(refund_project, trace_id)[0].status == "confirmed"
    _the_refine_brief_carries_it(refund_project, trace_id)


def _the_refine_brief_carries_it(project: Path, trace_id: str) -> None:
    from costar.assess import VerdictStore
    from costar.refine._brief import build_brief, cause_report
    from costar.refine._loop import _causes

    verdicts = VerdictStore(project / ".costar" / "verdicts.db").for_traces([trace_id])
    brief = build_brief(
        "", verdicts, {}, {"refund-kettle"}, ["refund_agent.py"], [], _causes(project, verdicts)
    )
    text = brief.to_markdown()
    assert "Attributed cause (confirmed: with this step corrected" in text
    assert "step 3, tool_result `lookup_order`" in text
    assert '"status": "delivered"' in text  # what the step should have produced
    fix = "--- a/refund_agent.py\n+++ b/refund_agent.py\n@@ class Shop:\n-    def lookup_order("
    assert cause_report(brief, fix)[0]["touched"] is True
    other = "--- a/refund_agent.py\n+++ b/refund_agent.py\n@@ def add_note\n+        pass"
    assert cause_report(brief, other)[0]["touched"] is False


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_a_decoy_attribution_is_refuted(refund_project: Path, fake) -> None:
    fake(script(step=5, kind="tool_result", correction="Refunds need a manager's approval."))
    trace_id = _failing_trace(refund_project)
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert (a.step, a.name) == (5, "read_policy")
    assert a.status == "refuted"
    assert "still failed 1 of 1" in a.verification.reason


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_without_a_model_the_evidence_is_the_attribution_and_cannot_be_verified(
    refund_project: Path, fake, monkeypatch
) -> None:
    fake()
    trace_id = _failing_trace(refund_project)
    monkeypatch.delenv("COSTAR_MODEL")
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert (a.step, a.kind, a.method) == (7, "tool_call", "deterministic")
    assert a.status == "unverifiable"
    assert "no correction" in a.verification.reason


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_the_final_reply_and_a_user_turn_are_not_verifiable_causes(
    refund_project: Path, fake
) -> None:
    fake(script(step=8, kind="llm", correction="I have refunded 39.90."))
    trace_id = _failing_trace(refund_project)
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert a.status == "unverifiable" and "symptom" in a.verification.reason
    fake(script(step=1, kind="user_turn", correction="refund it"))
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert a.status == "unverifiable" and "user turn" in a.verification.reason


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_cli_explain_verify_and_assess_explain(refund_project: Path, fake) -> None:
    fake()
    trace_id = _failing_trace(refund_project)
    done = run_cli(refund_project, "explain", trace_id, "--judge", "final-state", "--verify")
    assert done.returncode == 0, done.stderr
    assert "step 3 (tool_result lookup_order)" in done.stdout
    assert "confirmed 1, refuted 0, unverifiable 0" in done.stdout
    # the newest run is the counterfactual, which passes: explain the recorded one
    run_id = _run_of(refund_project, trace_id)
    scored = run_cli(refund_project, "assess", run_id, "--explain", "--json")
    data = json.loads(scored.stdout)
    assert [a["step"] for a in data["explain"]["attributions"]] == [3]


def test_explaining_a_trace_with_no_verdicts_is_a_usage_error(refund_project: Path) -> None:
    with pytest.raises(UsageError, match="has no verdicts: run `costar assess`"):
        explain(_config(refund_project, "tr-" + "0" * 32))


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_a_wrong_call_is_corrected_at_the_decision_that_made_it(refund_project: Path, fake) -> None:
    refund = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "c",
                "type": "function",
                "function": {"name": "issue_refund", "arguments": '{"order_id": 1042}'},
            }
        ],
    }
    fake(script(step=7, kind="tool_call", correction=refund))
    trace_id = _failing_trace(refund_project)
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert a.status == "confirmed"  # step 6, the model's decision to call add_note, replaced
    assert "step 6 corrected" in a.verification.reason
    fake(script(step=7, kind="tool_call", correction="do not call it"))
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert a.status == "unverifiable" and "assistant message" in a.verification.reason


def _decision(content: str | None, name: str, **args: object) -> dict:
    call = {
        "id": "c",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }
    return {"role": "assistant", "content": content, "tool_calls": [call]}


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_a_later_decision_corrected_with_hindsight_is_not_confirmed(
    refund_project: Path, fake
) -> None:
    # the stale cache says 19.90 (and refunded); the true 39.90 is only in the database, which
    # the agent never read: a correction at step 6 quoting it was written with hindsight
    scenario = refund_project / "scenarios" / "refund-kettle.yaml"
    scenario.write_text(scenario.read_text().replace('"total": 39.9}}', '"total": 19.9}}'))
    fix = _decision(
        "Order 1042 is delivered and cost 39.90: refunding it.", "issue_refund", order_id=1042
    )
    fake(script(step=6, kind="llm", correction=fix))
    trace_id = _failing_trace(refund_project)
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert a.step == 6 and a.status == "unverifiable", a.verification
    assert "facts the agent had not seen at step 6 (39.9)" in a.verification.reason
    assert a.verification.run_id is None  # refused before any replay
    # the right cause, the step-3 result, still confirms on the same trace
    fake(script(step=3, kind="tool_result", correction={**RIGHT, "total": 19.9}))
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert a.status == "confirmed", a.verification


@pytest.mark.loop  # a counterfactual replay (explain --verify)
def test_a_later_decision_after_a_hallucinated_argument_names_the_earlier_step(
    refund_project: Path, fake
) -> None:
    # the model looks up order 1043, which the customer never named; a later decision
    # "corrected" to refund 1042 would flip the verdict, but the cause is step 2
    scenario = refund_project / "scenarios" / "refund-kettle.yaml"
    other = '"1043": {"id": 1043, "status": "refunded", "total": 5.0}}'
    scenario.write_text(
        scenario.read_text().replace('"total": 39.9}}', f'"total": 39.9}}, {other}')
    )
    rules = script(step=6, kind="llm", correction=_decision(None, "issue_refund", order_id=1042))
    rules["rules"] = [r for r in rules["rules"] if "last_message" not in r["when"]]
    first = {"when": {"system": "refund agent", "last_role": "user"}}
    first["reply"] = {"tool_calls": [{"name": "lookup_order", "arguments": {"order_id": 1043}}]}
    rules["rules"].insert(2, first)
    fake(rules)
    trace_id = _failing_trace(refund_project)
    (a,) = explain(_config(refund_project, trace_id, verify=True)).attributions
    assert a.step == 6 and a.status == "unverifiable", a.verification
    assert a.verification.earlier_step == 2
    assert "step 2 already called a tool with 1043" in a.verification.reason
