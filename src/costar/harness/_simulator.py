"""Simulated users: an LLM plays the scenario's `user:` block, one message per turn.

The simulator is a participant like the agent: before each turn the harness asks it for the
user's next message, given the conversation so far, until it stops (its stop condition), the
agent fails, or `max_turns` user turns have been played. The agent sees the same turns and
history as with fixed turns, whatever its adapter.

Each simulator call is a SIMULATED_USER span under the trial's root: never a turn and never one
of the agent's LLM calls, so the agent's token metrics and cost leave it out; its usage is in
`costar.simulator.tokenUsage` (the `simulator_*` metrics count it). Trace tags say how the
conversation ended, `costar.simulator.stop`: stopped (the user's stop condition held),
max_turns, agent_error, simulator_error (`costar.simulator.error` says why) or cancelled.
Calls carry a seed (the scenario's `seed`, else one derived from its id, plus the trial number)
and the scenario's temperature, so a model that honours seeds replays a conversation. Time spent
waiting for the simulator does not count against the trial's timeout, which is the agent's.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from costar._exceptions import ConfigError, CostarError
from costar.config import current_settings
from costar.scenarios import Scenario, SimulatedUser
from costar.traces import SIMULATOR_ERROR_TAG as ERROR_TAG
from costar.traces import SIMULATOR_SPAN as SPAN_TYPE
from costar.traces import SIMULATOR_STOP_TAG as STOP_TAG
from costar.traces import SIMULATOR_USAGE as USAGE_ATTRIBUTE
from costar.traces import Recorder, SpanRecord, TrialRecord, Turn

USER_TAG = "costar.user"  # "simulated" on every trace of a simulated-user scenario
MODEL_TAG = "costar.simulator.model"
SYSTEM_MARK = "You are costar's simulated user"
OPEN = "(The conversation starts. Write your first message to the assistant.)"


def simulator_model(scenario_model: str | None, project_model: str | None) -> str:
    """The simulator's model: the scenario's, else the project's `simulator_model`, else the
    judge model (COSTAR_JUDGE_MODEL, else COSTAR_MODEL)."""
    model = scenario_model or project_model or current_settings().judge_model_or_default()
    if not model:
        raise ConfigError(
            "a scenario has a simulated user but no simulator model is set: set simulator_model "
            "in costar.toml (or COSTAR_JUDGE_MODEL / COSTAR_MODEL)"
        )
    return model


def system_prompt(user: SimulatedUser) -> str:
    """The simulator's instructions, built from the scenario's `user:` block."""
    parts = [
        f"{SYSTEM_MARK}: you play a person writing to an AI assistant, so that the assistant "
        "can be tested. Stay in character; never say that you are simulated or an AI.",
        f"Your goal: {user.goal.strip()}",
    ]
    if user.persona.strip():
        parts.append(f"Who you are: {user.persona.strip()}")
    if user.knows:
        facts = "\n".join(f"- {name}: {value}" for name, value in user.knows.items())
        parts.append(
            "What you know. Reveal a fact only when the assistant asks for it (or its question "
            f"cannot be answered without it); never volunteer it:\n{facts}"
        )
    if user.constraints:
        parts.append("Rules you keep to:\n" + "\n".join(f"- {c}" for c in user.constraints))
    parts.append(
        f"End the conversation when: {user.stop.strip()}. Do not end it while the assistant "
        "is still working on your request or waiting for your answer."
    )
    parts.append(
        "Invent no facts beyond the ones above: if asked something you do not know, say so. "
        "Keep your goal; do not change it."
    )
    parts.append(
        'Reply with JSON only: {"message": "your next message to the assistant", "stop": '
        'false}, or {"message": "", "stop": true} to end the conversation.'
    )
    return "\n\n".join(parts)


def _seed(scenario: Scenario, trial: int) -> int:
    assert scenario.user is not None
    base = scenario.user.seed
    if base is None:
        base = int(hashlib.sha256(scenario.id.encode()).hexdigest()[:7], 16)
    return base + trial


def _answer(text: str | None) -> tuple[str, bool]:
    """The simulator's (message, stop) from its JSON answer; ValueError when unusable."""
    try:
        data = json.loads(text or "")
    except json.JSONDecodeError:
        raise ValueError(f"the simulator did not answer JSON: {(text or '')[:200]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("stop", False), bool):
        raise ValueError(f"the simulator's answer lacks a boolean 'stop': {data!r:.200}")
    message = data.get("message") or ""
    if not isinstance(message, str):
        raise ValueError(f"the simulator's 'message' is not text: {message!r:.200}")
    stop = bool(data.get("stop", False))
    if not stop and not message.strip():
        raise ValueError("the simulator gave an empty message without stopping")
    return message, stop


class Simulator:
    """Plays one trial's simulated user; `turns()` feeds the harness's turn loop."""

    def __init__(
        self,
        scenario: Scenario,
        trial: int,
        record: TrialRecord,
        recorder: Recorder,
        cancel: threading.Event,
        project_model: str | None = None,
    ):
        assert scenario.user is not None, "a Simulator needs a scenario with a user block"
        self.user = scenario.user
        self.record = record
        self.recorder = recorder
        self.cancel = cancel
        self.model = simulator_model(self.user.model, project_model)
        self.seed = _seed(scenario, trial)
        self.seconds = 0.0  # spent waiting for the simulator: not the agent's time
        record.tags[USER_TAG] = "simulated"
        record.tags[MODEL_TAG] = self.model
        record.tags[STOP_TAG] = "agent_error"  # until the conversation ends otherwise

    def _messages(self) -> list[dict[str, Any]]:
        """The conversation from the user's side: the agent speaks as "user" here."""
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": system_prompt(self.user)},
            {"role": "user", "content": OPEN},
        ]
        for turn in self.record.turns:
            messages.append({"role": "assistant", "content": turn.user})
            reply = turn.reply if isinstance(turn.reply, str) else json.dumps(turn.reply)
            messages.append({"role": "user", "content": reply or "(no reply)"})
        return messages

    def _ask(self) -> tuple[str, bool]:
        from costar.llm import get_client

        messages = self._messages()
        started = time.monotonic()
        span = SpanRecord(
            name="simulated user",
            span_type=SPAN_TYPE,
            inputs={"messages": messages},
            parent_id=self.record.root_span_id or None,
            attributes={
                "mlflow.llm.model": self.model,
                "costar.simulator.turn": len(self.record.turns) + 1,
                "costar.simulator.seed": self.seed,
            },
        )
        try:
            client = get_client(self.model)
            span.attributes["mlflow.llm.model"] = client.endpoint.model  # as price tables name it
            # a fresh context: the call is the simulator's, never recorded as the agent's
            result = contextvars.Context().run(
                client.chat,
                messages,
                response_format={"type": "json_object"},
                temperature=self.user.temperature,
                seed=self.seed,
            )
            span.outputs = result.text
            span.attributes[USAGE_ATTRIBUTE] = result.usage.to_dict()
            return _answer(result.text)
        except (CostarError, ValueError) as exc:
            span.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            span.end_ns = time.time_ns()
            self.recorder.add(span)
            self.seconds += time.monotonic() - started

    def turns(self) -> Iterator[Turn]:
        """The user's turns, each asked for when the agent has answered the one before; a
        simulator failure ends the trial as an error, with `costar.simulator.error` saying why."""
        tags = self.record.tags
        while True:
            if self.cancel.is_set():
                tags[STOP_TAG] = "cancelled"
                return
            last = self.record.turns[-1] if self.record.turns else None
            if last is not None and last.error is not None:
                return  # the agent failed: the harness has stopped already
            if len(self.record.turns) >= self.user.max_turns:
                tags[STOP_TAG] = "max_turns"
                return
            if not self.record.turns and self.user.opening is not None:
                message, stop = self.user.opening, False
            else:
                try:
                    message, stop = self._ask()
                    if stop and not self.record.turns:
                        raise ValueError("the simulator ended the conversation before it began")
                except (CostarError, ValueError) as exc:
                    tags[STOP_TAG] = "simulator_error"
                    tags[ERROR_TAG] = str(exc)[:500]
                    self.record.status = "error"
                    self.record.error = f"the simulated user failed: {exc}"
                    return
            if stop:
                tags[STOP_TAG] = "stopped"
                return
            turn = Turn(user=message)
            self.record.turns.append(turn)
            tags["costar.simulator.turns"] = str(len(self.record.turns))
            yield turn
