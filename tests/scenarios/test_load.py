"""Loading suites: valid files, filters, and one precise line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from _helpers import write_files
from costar._exceptions import ScenarioError, UsageError
from costar.scenarios import FileSpec, load_suite

VALID = """
id: refund
description: A refund
tags: [common, refunds]
setup:
  files:
    policy.md: {from: fixtures/policy.md}
    notes.txt: inline text
  sqlite:
    db.sqlite:
      orders: [{id: 1, status: delivered}]
  env: {TZ: UTC}
  commands: ["true", {run: "echo hi", timeout: 5}]
input: "Refund order 1"
expectations:
  guidelines: [Checks the policy first]
  facts: [refunded]
  tool_calls: [{name: issue_refund, args: {order_id: 1}}]
  artifacts: [{path: out.json, schema: {type: object}}]
  state: [{sql: "select status from orders", rows: [[refunded]]}]
  budgets: {tool_calls: 8}
source: written
"""


def test_valid_scenario_loads_with_every_field(tmp_path: Path) -> None:
    write_files(tmp_path, {"s/refund.yaml": VALID, "s/fixtures/policy.md": "30 days"})
    suite = load_suite(tmp_path / "s")
    (item,) = suite.scenarios
    s = item.scenario
    assert s.id == "refund" and s.turns == ["Refund order 1"]
    assert isinstance(s.setup.files["policy.md"], FileSpec)
    assert s.setup.seeds()["db.sqlite"].tables["orders"][0]["status"] == "delivered"
    assert [c.run for c in s.setup.command_specs()] == ["true", "echo hi"]
    assert s.expectations.artifacts[0].json_schema == {"type": "object"}
    assert item.base_dir == tmp_path / "s"


def test_suite_is_searched_recursively_and_filtered(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "a.yaml": "id: a\ntags: [common]\ninput: hi\n",
            "deep/er/b.yml": "id: b\ntags: [edge]\ninput: [one, two]\n",
            "deep/c.yaml": "id: c-regression\ntags: [regression]\ninput: x\n",
            "notes.txt": "not a scenario",
        },
    )
    assert load_suite(tmp_path).ids == ["a", "c-regression", "b"]
    assert load_suite(tmp_path, tags=["edge"]).ids == ["b"]
    assert load_suite(tmp_path, ids=["c-*"]).ids == ["c-regression"]
    assert load_suite(tmp_path).get("b").scenario.turns == ["one", "two"]
    with pytest.raises(UsageError, match="no scenario matches"):
        load_suite(tmp_path, tags=["nothing"])


def test_suite_hash_changes_with_scenarios_and_fixture_files(tmp_path: Path) -> None:
    write_files(tmp_path, {"s/refund.yaml": VALID, "s/fixtures/policy.md": "30 days"})
    first = load_suite(tmp_path / "s").hash()
    assert load_suite(tmp_path / "s").hash() == first
    (tmp_path / "s/fixtures/policy.md").write_text("14 days")
    assert load_suite(tmp_path / "s").hash() != first


def problems(tmp_path: Path, files: dict[str, str]) -> list[str]:
    write_files(tmp_path, files)
    with pytest.raises(ScenarioError) as info:
        load_suite(tmp_path)
    return [p.replace(str(tmp_path) + "/", "") for p in info.value.problems]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "id: a\ninput: hi\nexpectatons: {}\n",
            "a.yaml:3:1: unknown field 'expectatons' (remove it or fix its spelling; "
            "`costar schema` lists fields)",
        ),
        ("id: a\ndescription: no input\n", "a.yaml:1:1: missing required field 'input' (add it)"),
        (
            "id: 'has space'\ninput: hi\n",
            "a.yaml:1:5: invalid id (use letters, digits, '_', '.' and '-', starting with a "
            "letter or digit)",
        ),
        (
            "id: a\ninput: hi\nsetup:\n  files:\n    x.txt: {contnt: hi}\n",
            "a.yaml:5:13: unknown field 'contnt' (remove it or fix its spelling; "
            "`costar schema` lists fields)",
        ),
        (
            "id: a\ninput: hi\nsetup:\n  files:\n    ../escape.txt: hi\n",
            "a.yaml:5:5: 'setup.files': '../escape.txt' must be a relative path inside the "
            "workspace (`costar schema` shows the expected shape)",
        ),
        (
            "id: a\ninput: hi\nexpectations:\n  budgets: {tool_calls: many}\n",
            "a.yaml:4:25: 'expectations.budgets.tool_calls': Input should be a valid number, "
            "unable to parse string as a number (`costar schema` shows the expected shape)",
        ),
        ("id: a\ninput: [unclosed\n", "a.yaml:3:1: invalid YAML: expected ',' or ']', but got"),
        ("- just\n- a list\n", "a.yaml:1:1: a scenario must be a mapping of fields"),
        (
            "id: a\ninput: hi\nsetup:\n  files:\n    p.md: {from: nowhere.md}\n",
            "a.yaml:5:18: file 'nowhere.md' not found (paths in 'from' are relative to the "
            "scenario file)",
        ),
    ],
    ids=[
        "unknown-field",
        "missing-field",
        "bad-id",
        "nested-unknown",
        "escaping-path",
        "wrong-type",
        "bad-yaml",
        "not-mapping",
        "missing-fixture",
    ],
)
def test_each_malformed_mode_gives_one_positioned_line(
    tmp_path: Path, text: str, expected: str
) -> None:
    (line,) = problems(tmp_path, {"a.yaml": text})
    assert line.startswith(expected), line


def test_every_problem_in_the_suite_is_reported_at_once(tmp_path: Path) -> None:
    lines = problems(
        tmp_path,
        {
            "one.yaml": "id: same\ninput: hi\n",
            "two.yaml": "id: same\ninput: hi\n",
            "three.yaml": "id: other\n",
            "four.yaml": "id: x\ninput: hi\ntagz: []\n",
        },
    )
    assert len(lines) == 3
    assert any("four.yaml:3:1: unknown field 'tagz'" in line for line in lines)
    assert any("three.yaml:1:1: missing required field 'input'" in line for line in lines)
    assert any(
        line.startswith("two.yaml:1:5: duplicate scenario id 'same' (also at ")
        and "one.yaml:1:5" in line
        for line in lines
    )


def test_missing_suite_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="suite folder not found"):
        load_suite(tmp_path / "nope")
    with pytest.raises(UsageError, match="no \\*.yaml scenario files"):
        load_suite(tmp_path)
