"""Judge registry, versions and the project's judge files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _build import view

import costar
from _helpers import write_files
from costar._exceptions import ConfigError
from costar.judges import build, default_judges, load_judges


def test_version_changes_with_parameters_only_for_that_judge() -> None:
    a = build("metric", "m", {"name": "total_tokens"})
    same = build("metric", "m", {"name": "total_tokens"})
    other = build("metric", "m", {"name": "total_tokens", "budget": 10})
    assert a.version == same.version != other.version
    assert build("output-present").version != a.version


def test_decorated_function_is_registered_and_scored() -> None:
    @costar.judge(name="always-short", kind="check")
    def always_short(view, scenario, limit: int = 5):
        return len(str(view.output)) <= limit, f"output has {len(str(view.output))} chars"

    verdict = build("always-short").score(view(output="hi"), None)
    assert (verdict.passed, verdict.rationale) == (True, "output has 2 chars")
    assert build("always-short", params={"limit": 1}).score(view(output="hi"), None).passed is False


def test_project_yaml_and_python_judges(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "judges/extra.yaml": """
            judges:
              - name: policy-first
                use: tool-sequence
                params: {before: [[read_policy, issue_refund]]}
              - name: output-present
                use: metric
                params: {name: llm_calls}
            """,
            "judges/mine.py": """
            import costar

            @costar.judge(name="says-thanks", kind="check")
            def says_thanks(view, scenario):
                return "thank" in str(view.output).lower()
            """,
        },
    )
    judges = {j.name: j for j in load_judges(tmp_path, ["judges"])}
    assert {"policy-first", "says-thanks", "expected-facts"} <= set(judges)
    assert judges["output-present"].uses == "metric"  # the project's definition wins
    assert judges["says-thanks"].score(view(output="Thank you"), None).passed is True
    only = load_judges(tmp_path, ["judges"], only=["says-thanks"])
    assert [j.name for j in only] == ["says-thanks"]
    assert len(load_judges(tmp_path / "none", ["judges"])) == len(default_judges())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("judges:\n  - use: nope\n", "unknown judge 'nope'"),
        ("judges:\n  - name: x\n", "judges[0] needs 'use: <built-in judge>'"),
        ("judges:\n  - use: metric\n    params: {nme: x}\n", "bad parameters"),
        ("judges:\n  - use: metric\n    parms: {}\n", "unknown key 'parms'"),
        ("judges: [unclosed\n", "invalid YAML"),
    ],
)
def test_bad_judge_files_are_config_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "judges").mkdir()
    (tmp_path / "judges" / "bad.yaml").write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_judges(tmp_path, ["judges"])
    with pytest.raises(ConfigError, match="no judge named"):
        load_judges(tmp_path / "none", ["judges"], only=["missing"])
