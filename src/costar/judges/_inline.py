"""Inline expectations: checks of what a scenario states beside its facts, no LLM.

- `reply-matches`: every regular expression in `expectations.reply_matches` matches at least
  one of the agent's replies (Python `re.search`);
- `reply-excludes`: no reply contains a text of `expectations.reply_excludes` (case and spacing
  ignored, as for facts);
- `output-json`: the final output, read as JSON, has the value each JSON path of
  `expectations.output_json` names (RFC 9535 JSONPath through `jsonpath-rfc9535`).

Each is one of the default judges, reads only its own field, and skips scenarios without it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from costar.judges._judge import judge
from costar.judges._verdict import Outcome, skip
from costar.traces import TraceView

_FENCED_JSON = re.compile(r"```(?:json)?[ \t]*\n(.*?)```", re.S)
SHOWN = 80  # characters of a value quoted in a rationale


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=repr)


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _replies(view: TraceView) -> list[tuple[str, str]]:
    """(span id, text) of each reply, the turn's span as its evidence."""
    turns = view.turn_spans()
    if turns:
        return [(t.span_id, _text(t.outputs)) for t in turns]
    return [(view.root.span_id, _text(r)) for r in view.replies]


def _shown(value: Any) -> str:
    text = json.dumps(value, default=repr)
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


@judge("reply-matches", "check", reads=["expectations.reply_matches"])
def reply_matches(view: TraceView, scenario: Any) -> Outcome:
    """Every regular expression of the scenario's `reply_matches` matches one of the replies."""
    patterns = scenario.expectations.reply_matches if scenario else []
    if not patterns:
        return skip("the scenario has no reply_matches")
    replies = _replies(view)
    missing, evidence = [], []
    for pattern in patterns:
        hits = [span for span, text in replies if re.search(pattern, text)]
        if hits:
            evidence += [s for s in hits if s not in evidence]
        else:
            missing.append(pattern)
    if missing:
        return Outcome(
            passed=False,
            rationale=f"no reply matches {', '.join(f'/{p}/' for p in missing)}",
            evidence=[span for span, _ in replies],
        )
    return Outcome(
        passed=True, rationale=f"all {len(patterns)} patterns match a reply", evidence=evidence
    )


@judge("reply-excludes", "check", reads=["expectations.reply_excludes"])
def reply_excludes(view: TraceView, scenario: Any) -> Outcome:
    """No reply contains a text of the scenario's `reply_excludes` (case and spacing ignored)."""
    texts = scenario.expectations.reply_excludes if scenario else []
    if not texts:
        return skip("the scenario has no reply_excludes")
    replies = _replies(view)
    found: list[str] = []
    evidence: list[str] = []
    for text in texts:
        spans = [(i, span) for i, (span, said) in enumerate(replies) if _norm(text) in _norm(said)]
        if spans:
            turns = ", ".join(str(i + 1) for i, _ in spans)
            found.append(f"{text!r} (reply {turns})")
            evidence += [span for _, span in spans if span not in evidence]
    if found:
        return Outcome(passed=False, rationale=f"replies say {'; '.join(found)}", evidence=evidence)
    return Outcome(
        passed=True,
        rationale=f"no reply says any of the {len(texts)} excluded texts",
        evidence=[span for span, _ in replies],
    )


def output_document(output: Any) -> Any:
    """The final output as JSON data: structured output as it is, text parsed as JSON, else
    the first fenced JSON block in the text. Raises ValueError when there is none."""
    if not isinstance(output, str):
        if output is None:
            raise ValueError("the agent gave no final output")
        return output
    try:
        return json.loads(output)
    except json.JSONDecodeError as exc:
        block = _FENCED_JSON.search(output)
        if block is None:
            raise ValueError(
                f"the final output is not JSON ({exc.msg}) and holds no ```json block"
            ) from None
        try:
            return json.loads(block[1])
        except json.JSONDecodeError as inner:
            raise ValueError(f"the output's ```json block is not JSON: {inner.msg}") from None


def same(actual: Any, expected: Any) -> bool:
    """JSON equality: numbers by value (1 equals 1.0), but true is not 1 and "1" is not 1."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return actual == expected
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and actual.keys() == expected.keys()
            and all(same(actual[k], v) for k, v in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(same(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and actual == expected


@judge("output-json", "check", reads=["expectations.output_json"])
def output_json(view: TraceView, scenario: Any) -> Outcome:
    """The final output, read as JSON, has the values the scenario's `output_json` paths name.
    A singular path ($.a.b, $.items[0]) must select one value equal to the expected one; a path
    with wildcards, slices, filters or `..` is compared as the list of values it selects."""
    import jsonpath_rfc9535

    wanted = scenario.expectations.output_json if scenario else {}
    if not wanted:
        return skip("the scenario has no output_json")
    evidence = [view.root.span_id]
    try:
        document = output_document(view.output)
    except ValueError as exc:
        return Outcome(passed=False, rationale=str(exc), evidence=evidence)
    problems = []
    for path, expected in wanted.items():
        query = jsonpath_rfc9535.compile(path)
        values = query.find(document).values()
        if query.singular_query():
            if not values:
                problems.append(f"{path} selects nothing")
                continue
            actual = values[0]
        else:
            actual = values
        if not same(actual, expected):
            problems.append(f"{path} is {_shown(actual)}, expected {_shown(expected)}")
    if problems:
        return Outcome(passed=False, rationale="; ".join(problems), evidence=evidence)
    return Outcome(
        passed=True, rationale=f"all {len(wanted)} JSON paths have their values", evidence=evidence
    )
