"""The inline expectations (reply_matches, reply_excludes, output_json): each passing, failing,
skipping scenarios without it, and refusing a bad pattern or path when the scenario loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from _build import span, view

from _helpers import write_files
from costar._exceptions import ScenarioError
from costar.judges import build, default_judges
from costar.scenarios import Scenario, load_suite


def scenario(**expectations) -> Scenario:
    return Scenario.model_validate({"id": "s", "input": "hi", "expectations": expectations})


def run(uses: str, trace, scen):
    return build(uses).score(trace, scen)


def turns(*replies: str):
    """A trace of len(replies) turns, the agent answering each with the given text."""
    spans = [
        span(f"t{i}", f"turn-{i}", "CHAIN", i, i + 0.5, outputs=text, **{"costar.turn": i})
        for i, text in enumerate(replies)
    ]
    return view(*spans, output=replies[-1])


def test_the_inline_checks_are_default_judges() -> None:
    names = {j.name for j in default_judges()}
    assert {"reply-matches", "reply-excludes", "output-json"} <= names


def test_reply_matches_passes_when_every_pattern_matches_some_reply() -> None:
    scen = scenario(reply_matches=[r"(?i)refund of \$?39\.90", r"order \d{4}"])
    trace = turns("Let me look at order 1042.", "Done: a REFUND of $39.90 is on its way.")
    verdict = run("reply-matches", trace, scen)
    assert verdict.passed is True, verdict.rationale
    assert verdict.evidence == ["t1", "t0"]  # the turns whose replies matched


def test_reply_matches_fails_naming_the_pattern_no_reply_matches() -> None:
    scen = scenario(reply_matches=[r"order \d{4}", r"refund of \$39\.90"])
    verdict = run("reply-matches", turns("order 1042 found", "a refund of $3.99"), scen)
    assert verdict.passed is False
    assert "/refund of \\$39\\.90/" in verdict.rationale and "order" not in verdict.rationale


def test_reply_excludes_passes_when_no_reply_says_the_text() -> None:
    scen = scenario(reply_excludes=["password", "I cannot help"])
    assert run("reply-excludes", turns("Your refund is on its way."), scen).passed is True


def test_reply_excludes_fails_on_any_reply_whatever_its_case_and_spacing() -> None:
    scen = scenario(reply_excludes=["internal   NOTE", "password"])
    trace = turns("Checking.", "Internal note: refund\nanyway.", "ok")
    verdict = run("reply-excludes", trace, scen)
    assert verdict.passed is False
    assert "'internal   NOTE' (reply 2)" in verdict.rationale
    assert "password" not in verdict.rationale
    assert verdict.evidence == ["t1"]


OUTPUT = (
    '{"refund": {"amount": 39.9, "currency": "EUR", "approved": true},'
    ' "items": [{"sku": "K1"}, {"sku": "K2"}]}'
)


@pytest.mark.parametrize(
    ("wanted", "passes"),
    [
        ({"$.refund.amount": 39.90, "$.refund.currency": "EUR"}, True),
        ({"$.refund.approved": True, "$.items[0].sku": "K1"}, True),
        ({"$.items[*].sku": ["K1", "K2"]}, True),  # a wildcard selects a list of values
        ({"$.refund": {"amount": 39.9, "currency": "EUR", "approved": True}}, True),
        ({"$.refund.amount": 40}, False),
        ({"$.refund.approved": 1}, False),  # true is not 1
        ({"$.refund.amount": "39.9"}, False),  # a number is not its text
        ({"$.items[*].sku": ["K1"]}, False),
        ({"$.refund.reason": None}, False),  # selects nothing, which is not null
    ],
)
def test_output_json_compares_each_path_with_its_value(wanted: dict, passes: bool) -> None:
    verdict = run("output-json", view(output=OUTPUT), scenario(output_json=wanted))
    assert verdict.passed is passes, verdict.rationale


def test_output_json_says_what_it_found() -> None:
    scen = scenario(output_json={"$.refund.amount": 40, "$.refund.reason": "damaged"})
    verdict = run("output-json", view(output=OUTPUT), scen)
    assert verdict.rationale == (
        "$.refund.amount is 39.9, expected 40; $.refund.reason selects nothing"
    )


def test_output_json_reads_structured_output_and_a_fenced_json_block() -> None:
    scen = scenario(output_json={"$.status": "refunded"})
    assert run("output-json", view(output={"status": "refunded"}), scen).passed is True
    fenced = 'Here it is:\n```json\n{"status": "refunded"}\n```\nAnything else?'
    assert run("output-json", view(output=fenced), scen).passed is True
    prose = run("output-json", view(output="It is refunded."), scen)
    assert prose.passed is False and "not JSON" in prose.rationale


@pytest.mark.parametrize("uses", ["reply-matches", "reply-excludes", "output-json"])
def test_each_skips_a_scenario_that_does_not_state_it(uses: str) -> None:
    verdict = run(uses, view(output="anything"), scenario(facts=["x"]))
    assert verdict.status == "skipped" and verdict.passed is None and "no" in verdict.rationale


@pytest.mark.parametrize(
    ("uses", "field"),
    [
        ("reply-matches", "expectations.reply_matches"),
        ("reply-excludes", "expectations.reply_excludes"),
        ("output-json", "expectations.output_json"),
    ],
)
def test_each_reads_only_its_own_field(uses: str, field: str) -> None:
    """The verdict cache key hashes what the judge reads: editing another expectation keeps
    its verdicts, editing its own re-scores them."""
    judge = build(uses)
    assert judge.reads == (field,)
    base = {"reply_matches": ["a"], "reply_excludes": ["b"], "output_json": {"$.c": 1}}
    other = judge.inputs(scenario(**base, facts=["new fact"]))
    assert other == judge.inputs(scenario(**base))
    key = field.split(".")[1]
    changed = {**base, key: {"output_json": {"$.c": 2}}.get(key, ["z"])}
    assert judge.inputs(scenario(**changed)) != judge.inputs(scenario(**base))


def test_a_bad_pattern_or_path_is_one_line_when_the_scenario_loads(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "s/a.yaml": """
                id: a
                input: hi
                expectations:
                  reply_matches: ["fine", "refund (of"]
                  output_json: {"$.ok": 1, "refund.amount": 2}
                  reply_excludes: ["  "]
                """,
        },
    )
    with pytest.raises(ScenarioError) as caught:
        load_suite(tmp_path / "s")
    problems = caught.value.problems
    file = tmp_path / "s" / "a.yaml"
    assert any(
        p.startswith(f"{file}:4:") and "reply_matches.1" in p and "not a regular expression" in p
        for p in problems
    ), problems
    assert any(
        p.startswith(f"{file}:5:") and "'refund.amount' is not a JSON path" in p for p in problems
    ), problems
    assert any(p.startswith(f"{file}:6:") and "empty text" in p for p in problems), problems
    assert all("\n" not in p for p in problems)
