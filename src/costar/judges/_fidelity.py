"""The simulator-fidelity judge: did a simulated user keep to its instructions?

It checks the simulator, not the agent. An LLM (through costar.llm) reads the scenario's `user:`
block and the recorded conversation and flags a user that revealed a fact from `knows` before
the agent asked for it, changed its goal, invented facts its instructions do not give, or ended
the conversation while the agent was still working or waiting for an answer. A simulator that
failed outright (its model erred, or it answered nothing usable) is a fault without a model call.

A failing verdict marks its trial a "simulator fault": `costar.assess.summarise` keeps such
trials out of every other judge's pass rate (and so out of the gate), and `simulator_faults`
gives the run's fault rate with its interval. The engine adds this judge to any run whose suite
has a simulated user, so every simulated conversation is checked.
"""

from __future__ import annotations

import json
from typing import Any

from costar.judges._judge import judge, judge_model
from costar.judges._prompt import clip_value, data_rule, delimit
from costar.judges._verdict import JudgeCost, Outcome, skip
from costar.llm import get_client
from costar.traces import SIMULATOR_ERROR_TAG, SIMULATOR_STOP_TAG, TraceView

FIDELITY_JUDGE = "simulator-fidelity"  # the judge whose failing verdicts mark simulator faults
FAULT_KINDS = ("revealed", "changed_goal", "invented", "stopped_early")
SYSTEM = (
    "You are costar's simulator-fidelity judge. A language model played a user talking to an "
    "AI agent under test, following the instructions given. Check the simulated USER only, "
    "not the agent. Flag: revealed (the user stated a fact from 'knows' before the agent asked "
    "for it or needed it), changed_goal (the user pursued another goal than 'goal'), invented "
    "(the user stated facts about itself or its situation that its instructions do not give), "
    "stopped_early (the user ended the conversation while the agent was still working on the "
    "request or waiting for the user's answer; 'ended_because: max_turns' means the harness "
    "ended it, not the user). "
)
ANSWER = (
    ' Reply with JSON only: {"faithful": true|false, "faults": [{"kind": "revealed|'
    'changed_goal|invented|stopped_early", "turn": N, "detail": "..."}], "rationale": "..."}.'
)


def _conversation(view: TraceView) -> list[dict[str, Any]]:
    return [
        {
            "turn": t.index + 1,
            "user": clip_value(t.user),
            "agent": clip_value(t.error or t.reply),
            "span_id": t.span_id,
        }
        for t in view.conversation()
    ]


@judge(FIDELITY_JUDGE, "llm", reads=["user"])
def simulator_fidelity(
    view: TraceView, scenario: Any, model: str | None = None, temperature: float = 0.0
) -> Outcome:
    """An LLM checks that the simulated user kept to its instructions (revealed nothing unasked,
    kept its goal, invented nothing, did not stop before the agent finished); a failing verdict
    marks the trial a simulator fault, kept out of the agent's pass rates and the gate."""
    user = getattr(scenario, "user", None)
    if user is None:
        return skip("not a simulated-user scenario")
    if error := view.tags.get(SIMULATOR_ERROR_TAG):
        return Outcome(passed=False, value="failed", rationale=f"the simulator failed: {error}")
    instructions = user.model_dump(
        mode="json", include={"goal", "persona", "knows", "constraints", "stop", "max_turns"}
    )
    turns = _conversation(view)
    payload = {
        "instructions": instructions,
        "opening_given": user.opening,  # a scripted first message is the scenario's, not a fault
        "conversation": turns,
        "ended_because": view.tags.get(SIMULATOR_STOP_TAG, "unknown"),
    }
    data, boundary = delimit(payload)
    messages = [
        {"role": "system", "content": SYSTEM + data_rule(boundary) + ANSWER},
        {"role": "user", "content": f"The simulated user's instructions and conversation:\n{data}"},
    ]
    result = get_client(judge_model(model)).chat(
        messages, response_format={"type": "json_object"}, temperature=temperature
    )
    cost = JudgeCost(
        llm_calls=1,
        input_tokens=result.usage.input_tokens,
        output_tokens=result.usage.output_tokens,
    )
    try:
        answer = json.loads(result.text or "")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the judge model did not answer JSON: {result.text!r:.200}") from exc
    if not isinstance(answer, dict) or not isinstance(answer.get("faithful"), bool):
        raise ValueError(f"the judge model's answer lacks a boolean 'faithful': {answer!r:.200}")
    faults = [f for f in answer.get("faults") or [] if isinstance(f, dict)]
    kinds = sorted({str(f.get("kind")) for f in faults if f.get("kind") in FAULT_KINDS})
    spans = {t["turn"]: t["span_id"] for t in turns}
    evidence = [
        spans[f["turn"]] for f in faults if isinstance(f.get("turn"), int) and f["turn"] in spans
    ]
    detail = "; ".join(
        f"{f.get('kind')} (turn {f.get('turn')}): {f.get('detail', '')}" for f in faults
    )
    rationale = str(answer.get("rationale", ""))
    return Outcome(
        passed=answer["faithful"],
        value=", ".join(kinds) or ("faithful" if answer["faithful"] else "fault"),
        rationale=f"{detail}; {rationale}" if detail and rationale else detail or rationale,
        evidence=list(dict.fromkeys(evidence)),
        cost=cost,
    )
