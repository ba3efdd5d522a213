"""Skill invocation: did the agent use the skills a scenario targets (`expectations.skills`)?

How a skill shows in a trace is the project's to declare, per skill, in the judge's params::

    judges:
      - name: skills-invoked
        use: skills-invoked
        params:
          folder: skills               # default: reads of skills/<name>/... or skills/<name>.md
          skills:
            refunds: {file: "prompts/refunds.md"}   # a tool call whose arguments name this file
            escalation: {tool: escalate_to_human}   # a call of this tool
            summarise: {span: "skill:summarise"}     # a span of this name (a regex)

A skill with no declaration shows as a tool call whose arguments name a file under
`<folder>/<name>/` or the file `<folder>/<name>.md`, or a call of a tool named `skill`,
`use_skill` or `load_skill` whose arguments name it. `skills-invoked` passes when every
targeted skill shows before the model call that gave the final answer, and names the ones
that did not. `skills-agentic` asks an agentic judge instead, for skills that show only in
the model's own messages.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from costar.judges._judge import judge
from costar.judges._llm_judges import agentic
from costar.judges._verdict import Outcome, skip
from costar.traces import SpanView, TraceView

SKILL_TOOLS = ("skill", "use_skill", "load_skill")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _names_file(span: SpanView, globs: list[str]) -> bool:
    return any(
        fnmatch.fnmatchcase(text, g) or fnmatch.fnmatchcase(text, f"*/{g}")
        for text in _strings(span.inputs)
        for g in globs
    )


def _shows(span: SpanView, skill: str, rule: dict[str, Any], folder: str) -> bool:
    if not rule:
        if span.span_type != "TOOL":
            return False
        if span.name.lower() in SKILL_TOOLS and skill in _strings(span.inputs):
            return True
        return _names_file(span, [f"{folder}/{skill}/*", f"{folder}/{skill}.md"])
    if "tool" in rule and span.span_type == "TOOL" and span.name == rule["tool"]:
        return True
    if "span" in rule and re.fullmatch(str(rule["span"]), span.name):
        return True
    files = rule.get("file")
    if files and span.span_type == "TOOL":
        return _names_file(span, [files] if isinstance(files, str) else list(files))
    return False


def final_answer(view: TraceView) -> SpanView:
    """The span that gave the final answer: the last model call of the last turn, else the
    last turn (or the root) itself."""
    turns = view.conversation()
    last = turns[-1] if turns else None
    if last is not None and last.llm_calls:
        return last.llm_calls[-1]
    return view.span(last.span_id) if last is not None else view.root


@judge("skills-invoked", "check", reads=["expectations.skills"])
def skills_invoked(
    view: TraceView,
    scenario: Any,
    skills: dict[str, dict[str, Any]] | None = None,
    folder: str = "skills",
) -> Outcome:
    """Every skill in the scenario's `expectations.skills` shows in the trace (a file read, a
    tool call or a span, as declared) before the model call that gave the final answer."""
    targeted = list(scenario.expectations.skills) if scenario else []
    if not targeted:
        return skip("the scenario targets no skills")
    answer = final_answer(view)
    declared = skills or {}
    missing, late, evidence = [], [], []
    for skill in targeted:
        rule = declared.get(skill) or {}
        shown = [s for s in view.spans if s is not answer and _shows(s, skill, rule, folder)]
        before = [s for s in shown if s.start_ns < answer.start_ns]
        if before:
            evidence.append(before[0].span_id)
        elif shown:
            late.append(skill)
            evidence.append(shown[0].span_id)
        else:
            missing.append(skill)
    if missing or late:
        parts = []
        if missing:
            parts.append(f"not used: {', '.join(missing)}")
        if late:
            parts.append(f"used only after the final answer: {', '.join(late)}")
        return Outcome(
            passed=False, rationale="; ".join(parts), evidence=[*evidence, answer.span_id]
        )
    return Outcome(
        passed=True,
        rationale=f"all {len(targeted)} targeted skills used before the final answer",
        evidence=evidence,
    )


@judge("skills-agentic", "agentic", reads=["expectations.skills"])
def skills_agentic(
    view: TraceView,
    scenario: Any,
    skills: dict[str, dict[str, Any]] | None = None,
    model: str | None = None,
    max_steps: int = 10,
    max_tokens: int = 60_000,
) -> Outcome:
    """An agentic judge decides whether each targeted skill was used, reading the model's own
    messages (for skills that show in no tool call or span). `skills` may describe each
    skill (`{refunds: {description: "..."}}`)."""
    targeted = list(scenario.expectations.skills) if scenario else []
    if not targeted:
        return skip("the scenario targets no skills")
    lines = []
    for skill in targeted:
        about = ((skills or {}).get(skill) or {}).get("description")
        lines.append(f"- {skill}" + (f": {about}" if about else ""))
    instructions = (
        "The agent was meant to use each of these skills before its final answer:\n"
        + "\n".join(lines)
        + "\nA skill counts as used when the agent's own messages (the inputs and outputs of "
        "its LLM spans) show it loaded or followed that skill before the final reply. Pass only "
        "when every skill was used; the rationale names each skill that was not."
    )
    return agentic(
        view,
        None,
        instructions=instructions,
        model=model,
        max_steps=max_steps,
        max_tokens=max_tokens,
    )
