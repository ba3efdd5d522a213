"""`costar discover` on constructed failures: refunds issued before the policy was read (a
judge fails them), replies missing the expected fact (another judge), and conversations that
look an order up again and again (no judge fails them, their tool calls stand out). The model
is the scripted fake LLM; grouping is by what the findings say, the names are the model's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar.judges import load_judges

pytestmark = pytest.mark.loop

AGENT = """
import costar

@costar.tool
def lookup_order(order_id: int) -> dict:
    return {"id": order_id, "status": "shipped"}

@costar.tool
def read_policy() -> str:
    return "30 days"

@costar.tool
def issue_refund(order_id: int) -> dict:
    return {"refunded": order_id}

def agent(ctx):
    text = ctx.input
    n = int("".join(c for c in text if c.isdigit()) or 0)
    if "refund" in text:          # the mistake: no read_policy first
        issue_refund(n)
        return f"Refunded order {n}."
    if "late" in text:            # the mistake: the status is never said
        lookup_order(n)
        return f"Let me see about order {n}."
    if "again" in text:           # looks the order up over and over; no judge checks that
        for _ in range(8):
            lookup_order(n)
    else:
        lookup_order(n)
    return f"Order {n} has shipped."
"""
POLICY = """
judges:
  - name: policy-before-refund
    use: tool-sequence
    params: {before: [[read_policy, issue_refund]]}
"""
NAME = "You name failure modes"
SCRIPT = {
    "rules": [
        {"when": {"system": NAME, "user": "policy-before-refund"},
         "reply": {"json": {"name": "Refund before reading the policy",
                            "description": "The agent refunds without checking the policy."}}},
        {"when": {"system": NAME, "user": "expected-facts"},
         "reply": {"json": {"name": "Reply leaves out the order status",
                            "description": "The reply never states what the user asked."}}},
        {"when": {"system": NAME, "user": "lookup_order x8"},
         "reply": {"json": {"name": "Repeated order look-ups",
                            "description": "The agent looks the same order up many times."}}},
        {"when": {"system": "You propose a judge", "user": "Repeated order look-ups"},
         "reply": {"json": {"name": "no-repeated-lookups", "use": "tool-sequence",
                            "params": {"max_calls": {"lookup_order": 2}},
                            "why": "a second look-up of one order adds nothing"}}},
    ],
    "default": {"text": "no"},
}  # fmt: skip


def scenario(sid: str, text: str, fact: str | None = None) -> str:
    facts = f"\nexpectations: {{facts: [{fact}]}}" if fact else ""
    return f"id: {sid}\ninput: {json.dumps(text)}{facts}\n"


@pytest.fixture
def failing_run(project: Path, fake_llm):
    files = {"shop.py": AGENT, "judges/policy.yaml": POLICY}
    for i in range(3):
        files[f"scenarios/refund-{i}.yaml"] = scenario(f"refund-{i}", f"refund order {100 + i}")
        files[f"scenarios/late-{i}.yaml"] = scenario(f"late-{i}", f"order {200 + i} is late",
                                                     "shipped")  # fmt: skip
    for i in range(2):
        files[f"scenarios/again-{i}.yaml"] = scenario(f"again-{i}", f"order {300 + i} again?")
    for i in range(6):
        files[f"scenarios/ok-{i}.yaml"] = scenario(f"ok-{i}", f"where is {400 + i}", "shipped")
    write_files(project, files)
    ran = run_cli(project, "run", "--agent", "shop:agent", "--json")
    assert ran.returncode == 0, ran.stderr
    assert run_cli(project, "assess", "--last").returncode == 0
    return project, json.loads(ran.stdout)["run_id"], fake_llm(SCRIPT, "openai:/namer")


def test_discover_groups_failures_into_modes_and_proposes_a_judge_for_the_unchecked_one(
    failing_run,
) -> None:
    project, run_id, _ = failing_run
    out = run_cli(project, "discover", run_id[:8], "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    modes = {m["name"]: m for m in data["modes"]}
    assert set(modes) == {
        "Refund before reading the policy",
        "Reply leaves out the order status",
        "Repeated order look-ups",
    }
    refund = modes["Refund before reading the policy"]
    assert refund["traces"] == 3 and refund["judges"] == ["policy-before-refund"]
    assert {e["scenario_id"] for e in refund["examples"]} <= {"refund-0", "refund-1", "refund-2"}
    late = modes["Reply leaves out the order status"]
    assert late["traces"] == 3 and late["judges"] == ["expected-facts"]
    loops = modes["Repeated order look-ups"]
    assert loops["traces"] == 2 and loops["checked"] is False and loops["anomalies"] == 2
    assert refund["proposal"] is None and late["proposal"] is None  # checked: nothing proposed
    proposal = loops["proposal"]
    assert proposal["written"] and proposal["use"] == "tool-sequence"
    assert proposal["tried"] == {"fails": 2, "errors": 0, "of": 2}  # it catches the mode
    path = Path(proposal["path"])
    assert path.parent == project / "judges" / "proposed"
    assert "Repeated order look-ups" in path.read_text()
    # a draft: the project's judges do not include it until a person moves it into judges/
    assert "no-repeated-lookups" not in {j.name for j in load_judges(project, ["judges"])}
    assert "no-repeated-lookups" in {j.name for j in load_judges(project, [str(path)])}
    assert data["llm"]["calls"] == 4 and data["naming_rejected"] == 0

    again = json.loads(run_cli(project, "discover", run_id, "--json", "--no-propose").stdout)
    assert [(m["name"], m["traces"]) for m in again["modes"]] == [
        (m["name"], m["traces"]) for m in data["modes"]
    ]  # the same findings, model and seed: the same modes


def test_answers_that_are_not_names_or_judges_are_rejected_and_counted(
    failing_run, fake_llm
) -> None:
    project, run_id, _ = failing_run
    fake_llm({"default": {"text": "I would rather not say."}}, "openai:/mute")
    out = run_cli(project, "discover", run_id, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["modes"]) == 3 and data["naming_rejected"] == 3
    assert all(m["named_by"] == "terms" for m in data["modes"])  # named by their own words
    assert [r["reason"] for r in data["proposals_rejected"]] == [
        "the model's answer was not a JSON object"
    ]
    assert not (project / "judges" / "proposed").exists()  # nothing unchecked was written
