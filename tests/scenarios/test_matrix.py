"""Matrix scenarios: one file expanded into one scenario per combination, the values in the id,
placeholders substituted with their types; a bad matrix is one line with file:line, exit 2;
files written before matrices existed load and dump exactly as they did."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _helpers import run_cli, write_files
from costar._exceptions import ScenarioError
from costar.scenarios import load_suite

GOLDEN = Path(__file__).parent / "golden"

PRODUCT = """
id: refund-{item}-{days}d
description: "{item} refund after {days} days"
tags: [refunds, "{item}"]
matrix:
  item: [kettle, big fan]
  days: [5, 40]
setup:
  files:
    "orders/{item}.txt": "order of one {item}"
  commands: ["echo ${HOME} {item} > seen.txt"]
input: "My {item} arrived broken {days} days ago. Reply with {{item}} in braces."
expectations:
  facts: ["{item}"]
  tool_calls: [{name: issue_refund, args: {days: {days}, quoted: "{days}", text: "d{days}"}}]
  output_json: {"$.days": "{days}"}
"""


def suite(tmp_path: Path, files: dict[str, str]):
    write_files(tmp_path, {f"s/{k}": v for k, v in files.items()})
    return load_suite(tmp_path / "s")


def test_a_mapping_of_lists_expands_into_every_combination_with_the_values_in_the_ids(
    tmp_path: Path,
) -> None:
    loaded = suite(tmp_path, {"refund.yaml": PRODUCT})
    assert loaded.ids == [
        "refund-kettle-5d",
        "refund-kettle-40d",
        "refund-big_fan-5d",  # characters an id cannot hold become '_'
        "refund-big_fan-40d",
    ]
    fan = loaded.get("refund-big_fan-40d").scenario
    assert fan.variant == {"item": "big fan", "days": 40}
    assert fan.description == "big fan refund after 40 days"
    assert fan.tags == ["refunds", "big fan"]
    assert fan.input == "My big fan arrived broken 40 days ago. Reply with {item} in braces."
    assert list(fan.setup.files) == ["orders/big fan.txt"]
    assert fan.setup.files["orders/big fan.txt"] == "order of one big fan"
    assert fan.setup.commands == ["echo ${HOME} big fan > seen.txt"]  # shell's ${...} left alone
    assert fan.expectations.facts == ["big fan"]
    # a placeholder standing alone keeps the value's type, quoted in YAML or not
    assert fan.expectations.tool_calls[0].args == {"days": 40, "quoted": 40, "text": "d40"}
    assert fan.expectations.output_json == {"$.days": 40}


def test_a_list_of_rows_expands_into_those_rows_and_an_id_without_placeholders_gets_the_values(
    tmp_path: Path,
) -> None:
    rows = """
    id: tier
    matrix:
      - {tier: gold, limit: 100, vip: true}
      - {tier: silver, limit: 50.5, vip: false}
    input: "I am {tier} (vip: {vip})"
    expectations:
      budgets: {tool_calls: "{limit}"}
    """
    loaded = suite(tmp_path, {"tier.yaml": rows, "plain.yaml": "id: plain\ninput: hi\n"})
    assert loaded.ids == ["plain", "tier-gold-100-true", "tier-silver-50.5-false"]
    silver = loaded.get("tier-silver-50.5-false").scenario
    assert silver.input == "I am silver (vip: false)"
    assert silver.expectations.budgets == {"tool_calls": 50.5}
    assert loaded.get("plain").scenario.variant == {}


def test_expanded_scenarios_hash_apart_and_filters_see_their_ids(tmp_path: Path) -> None:
    write_files(tmp_path, {"s/refund.yaml": PRODUCT})
    only = load_suite(tmp_path / "s", ids=["refund-kettle-*"])
    assert only.ids == ["refund-kettle-5d", "refund-kettle-40d"]
    by_tag = load_suite(tmp_path / "s", tags=["big fan"])
    assert by_tag.ids == ["refund-big_fan-5d", "refund-big_fan-40d"]
    assert only.hash() != by_tag.hash()
    five = load_suite(tmp_path / "s", ids=["refund-kettle-5d"]).hash()
    whole = load_suite(tmp_path / "s").hash()
    write_files(tmp_path, {"s/refund.yaml": PRODUCT.replace("days: [5, 40]", "days: [5, 41]")})
    # a changed value changes the scenarios made with it, and no other
    assert load_suite(tmp_path / "s", ids=["refund-kettle-5d"]).hash() == five
    assert load_suite(tmp_path / "s").hash() != whole


BAD = [
    (
        "id: r-{item}\nmatrix: {item: []}\ninput: hi\n",
        2,
        "matrix.item must be a non-empty list of values",
    ),
    (
        "id: r-{item}\nmatrix: {item: [a, a]}\ninput: hi\n",
        2,
        "matrix.item lists 'a' twice",
    ),
    (
        "id: r-{item}\nmatrix:\n  item: [a, [b]]\ninput: hi\n",
        3,
        "matrix.item[1] must be a text, number, true/false or null",
    ),
    (
        "id: r-{item}\nmatrix: {item: [a, b]}\ninput: 'hi {itme}'\n",
        3,
        "{itme} is not a matrix variable (the matrix has item; write {{itme}} for the literal",
    ),
    (
        "id: r-{itme}\nmatrix: {item: [a, b]}\ninput: hi\n",
        1,
        "id 'r-{itme}': {itme} is not a matrix variable",
    ),
    (
        "id: r-{item}\nmatrix: {item: [a, b], days: [1, 2]}\ninput: hi {days}\n",
        1,
        'the matrix gives two combinations the id \'r-a\' (item="a", days=1 and item="a", days=2, '
        "and 1 more clashes; put more of the variables in the id",
    ),
    (
        "id: r-{item}\nmatrix:\n  - {item: a, days: 1}\n  - {item: b}\ninput: hi {days}\n",
        4,
        "matrix[1] names ['item'], the first row ['days', 'item']",
    ),
    (
        "id: r-{item}\nmatrix: {item: [a], days: [1]}\ninput: hi\n",
        2,
        "matrix variable 'days' is used nowhere",
    ),
    (
        "id: r\nmatrix: {n: ["
        + ", ".join(str(i) for i in range(40))
        + "], m: ["
        + ", ".join(str(i) for i in range(40))
        + "]}\ninput: hi\n",
        2,
        "the matrix expands into 1,600 scenarios (at most 1,000",
    ),
    ("id: r-{item}\nmatrix: 5\ninput: hi\n", 2, "'matrix' is empty or of the wrong shape"),
    ("id: '{item}'\nmatrix: {item: [_a]}\ninput: hi\n", 1, "the matrix makes the id '_a'"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_a_bad_matrix_is_one_line_with_its_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    write_files(tmp_path, {"s/m.yaml": text})
    with pytest.raises(ScenarioError) as caught:
        load_suite(tmp_path / "s")
    (problem,) = caught.value.problems
    assert problem.startswith(f"{tmp_path / 's' / 'm.yaml'}:{line}:"), problem
    assert message in problem


def test_a_problem_of_some_combinations_names_their_values(tmp_path: Path) -> None:
    text = "id: r-{n}\nmatrix: {n: [1, 2]}\ninput: hi\nexpectations:\n  budgets: {x: 'n{n}'}\n"
    write_files(tmp_path, {"s/m.yaml": text})
    with pytest.raises(ScenarioError) as caught:
        load_suite(tmp_path / "s")
    # every combination has the problem: said once, without values
    (problem,) = caught.value.problems
    assert "budgets.x" in problem and "matrix values" not in problem
    text = "id: r-{n}\nmatrix: {n: [1, x]}\ninput: hi\nexpectations:\n  budgets: {x: '{n}'}\n"
    write_files(tmp_path, {"s/m.yaml": text})
    with pytest.raises(ScenarioError) as caught:
        load_suite(tmp_path / "s")
    (problem,) = caught.value.problems
    assert "budgets.x" in problem and problem.endswith("[matrix values n=x]")


def test_costar_run_refuses_a_bad_matrix_with_exit_2_and_no_traceback(project: Path) -> None:
    write_files(project, {"scenarios/m.yaml": "id: r-{item}\nmatrix: {item: [a, a]}\ninput: hi\n"})
    done = run_cli(project, "run", "--agent", "sample_agents:echo")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{project / 'scenarios' / 'm.yaml'}:2:" in done.stderr
    assert "matrix.item lists 'a' twice" in done.stderr


def test_ids_from_two_files_may_not_clash(tmp_path: Path) -> None:
    files = {
        "a.yaml": "id: r-{x}\nmatrix: {x: [1, 2]}\ninput: hi\n",
        "b.yaml": "id: r-2\ninput: hi\n",
    }
    with pytest.raises(ScenarioError) as caught:
        suite(tmp_path, files)
    (problem,) = caught.value.problems
    assert "duplicate scenario id 'r-2'" in problem


def test_a_version_1_file_loads_and_dumps_exactly_as_before(tmp_path: Path) -> None:
    """The golden dump was made by the scenario model of schema version 1 before inline
    expectations, per-scenario judges and matrices were added. The dump is what the suite hash
    and every verdict's inputs hash are made of, so an unchanged file re-scores nothing."""
    loaded = load_suite(GOLDEN / "v1-refund.yaml")
    (item,) = loaded.scenarios
    dumped = item.scenario.model_dump(mode="json")
    assert dumped == json.loads((GOLDEN / "v1-refund.dump.json").read_text())
    assert "judges" not in dumped and "variant" not in dumped
    assert "reply_matches" not in dumped["expectations"]
