"""A proposed judge for a failure mode that no judge checks: a draft file for a person to review.

The model proposes a built-in with parameters (a deterministic check or metric where one can
express the rule, else a `guidelines` or `agentic` judge with its instructions). The proposal
is checked before it is kept: the built-in exists, its parameters bind, the file loads through
the project's own judge loader, and a check or metric is tried on the mode's traces (how many
of them it fails is reported, so a judge that would catch nothing is visible). A proposal that
fails any of this is rejected with its reason and counted. Drafts go to `judges/proposed/`,
which the judge loader does not read: a person moves a file into `judges/` to use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from costar._exceptions import CostarError
from costar.discover._drafts import slug
from costar.judges import build, load_judges, registered
from costar.traces import TraceStore, TraceView

if TYPE_CHECKING:
    from costar.discover._model import Model
    from costar.discover._modes import FailureMode

PROPOSE_INSTRUCTIONS = """You propose a judge that checks one failure mode of an AI agent. \
Prefer a deterministic built-in when it can express the rule; otherwise an LLM judge with \
clear instructions. Built-ins and their params:
- tool-sequence (check): before: [["tool_a", "tool_b"]] (tool_a must be called before \
tool_b), forbidden: ["tool"], max_calls: {"tool": N}, no_repeated_failures: true
- metric (metric): name: one of total_tokens, input_tokens, output_tokens, llm_calls, \
tool_calls, tool_failures, tool_failure_ratio, steps, latency_s, cost_usd; budget: N (passes \
when the value is at most N)
- guidelines (llm): guidelines: ["a plain-language criterion the conversation must meet"]
- agentic (agentic): instructions: "what to check, exploring the recorded trace"
Answer with JSON: {"name": "kebab-case-judge-name", "use": "<built-in>", "params": {...}, \
"why": "one sentence"}."""
TRY_KINDS = ("check", "metric")  # tried on the mode's traces (no model calls)


def _why_rejected(answer: dict[str, Any] | None, taken: set[str]) -> str | None:
    if answer is None:
        return "the model's answer was not a JSON object"
    use, params = answer.get("use"), answer.get("params", {})
    if not isinstance(use, str) or use not in registered():
        return f"unknown built-in judge {str(use)[:40]!r}"
    if not isinstance(params, dict):
        return "params is not a mapping"
    try:
        build(use, "proposed", params)
    except CostarError as exc:
        return str(exc)[:300]
    return None


def _text(mode: FailureMode, name: str, use: str, params: dict[str, Any], why: str) -> str:
    head = [
        f"# Proposed by `costar discover` for the failure mode {mode.name!r}:",
        f"# {mode.description or 'no description'}",
        f"# {len(mode.traces)} trace(s), no judge failed them; e.g. {', '.join(mode.traces[:3])}.",
        f"# Why this judge: {' '.join(str(why).split())[:300]}",
        "# A draft: review it, then move it into judges/ to use it.",
    ]
    body = yaml.safe_dump(
        {"judges": [{"name": name, "use": use, "params": params}]},
        sort_keys=False,
        allow_unicode=True,
    )
    return "\n".join(head) + "\n" + body


def _tried(judge: Any, views: list[TraceView]) -> dict[str, int] | None:
    if judge.kind not in TRY_KINDS or not views:
        return None
    verdicts = [judge.score(v, None) for v in views]
    return {
        "fails": sum(v.passed is False for v in verdicts),
        "errors": sum(v.status == "error" for v in verdicts),
        "of": len(verdicts),
    }


def propose_judges(
    modes: list[FailureMode],
    model: Model,
    root: Path,
    judge_paths: list[str],
    out: Path,
    store: TraceStore,
    views: dict[str, TraceView],
) -> list[dict[str, str]]:
    """Propose and write a draft judge for every unchecked mode; returns the rejections."""
    taken = {j.name for j in load_judges(root, judge_paths)}
    rejected: list[dict[str, str]] = []
    for mode in modes:
        if mode.checked:
            continue
        data = {
            "mode": mode.name,
            "description": mode.description,
            "findings": [f.text[:600] for f in mode.findings[:6]],
        }
        answer = model.ask(PROPOSE_INSTRUCTIONS, "Propose a judge for this failure mode.", data)
        reason = _why_rejected(answer, taken)
        if reason or answer is None:
            rejected.append({"mode": mode.name, "reason": reason or "no answer"})
            continue
        name = slug(str(answer.get("name") or mode.name), 60)
        base, n = name, 2
        while name in taken:
            name, n = f"{base}-{n}", n + 1
        use, params = answer["use"], dict(answer.get("params") or {})
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"{name}.yaml"
        if path.exists():
            mode.proposal = {"path": str(path), "written": False, "name": name}
            continue
        path.write_text(_text(mode, name, use, params, str(answer.get("why", ""))), "utf-8")
        try:
            loaded = [j for j in load_judges(root, [str(path.resolve())]) if j.name == name]
        except CostarError as exc:
            loaded, reason = [], str(exc)[:300]
        if not loaded:
            path.unlink()
            rejected.append({"mode": mode.name, "reason": reason or "the file does not load"})
            continue
        taken.add(name)
        mode_views = [views[t] for t in mode.traces if t in views]
        mode.proposal = {
            "path": str(path),
            "written": True,
            "name": name,
            "use": use,
            "params": params,
            "kind": loaded[0].kind,
            "tried": _tried(loaded[0], mode_views),
        }
    return rejected
