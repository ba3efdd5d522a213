"""The `user:` block of a scenario (a simulated user): what loads, and one positioned line for
what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from _helpers import write_files
from costar._exceptions import ScenarioError
from costar.scenarios import load_suite


def test_a_user_block_loads_and_a_fixed_turn_scenario_dumps_as_before(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "s/sim.yaml": "id: sim\nuser:\n  goal: a refund\n  knows: {order: 1042}\n",
            "s/fixed.yaml": "id: fixed\ninput: hi\n",
        },
    )
    loaded = {s.id: s.scenario for s in load_suite(tmp_path / "s").scenarios}
    user = loaded["sim"].user
    assert user is not None and user.knows == {"order": 1042} and user.max_turns == 6
    assert loaded["sim"].turns == []
    dumped = loaded["fixed"].model_dump(mode="json")  # what suite hashes and verdict keys read
    assert set(dumped) == {
        "version",
        "id",
        "description",
        "tags",
        "setup",
        "input",
        "expectations",
        "source",
    }


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("id: x\ninput: hi\nuser:\n  goal: g\n", "refund.yaml:4:3: 'user': give 'input'"),
        ("id: x\nuser:\n  persona: p\n", "missing required field 'goal'"),
        ("id: x\nuser:\n  goal: g\n  max_turns: 0\n", "refund.yaml:4:14: 'user.max_turns'"),
        ("id: x\nuser:\n  goal: g\n  reveal: all\n", "refund.yaml:4:3: unknown field 'reveal'"),
        (
            "id: x\ndescription: nothing to say\n",
            "refund.yaml:1:1: missing required field 'input' (add it); or give a 'user:' block",
        ),
    ],
)
def test_a_bad_user_block_names_file_and_line(project: Path, text: str, wanted: str) -> None:
    write_files(project, {"scenarios/refund.yaml": text})
    with pytest.raises(ScenarioError) as caught:
        load_suite(project / "scenarios")
    assert wanted in str(caught.value)
