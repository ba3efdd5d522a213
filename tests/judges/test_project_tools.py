"""The project's own judge tools: a `@costar.judge_tool` in judges/*.py and a tool of a real MCP
stdio server (the `mcp` SDK), called by an agentic judge with bounded time and output, each
call recorded in the verdict and counted in its cost, their code part of the judge's version."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from _build import span, tool, view

from _helpers import write_files
from _judge_project import fake_llm  # noqa: F401 - fixture
from costar._exceptions import InputError
from costar.judges import load_judges
from costar.judges._tools import MAX_RESULT
from costar.scenarios import Scenario

pytest.importorskip("mcp")

TOOLS = '''
import time
import costar


@costar.judge_tool(description="Lint a SQL statement", max_output=2000)
def lint_sql(sql: str, dialect: str = "sqlite") -> dict:
    return {"dialect": dialect, "problems": ["SELECT * is discouraged"] * 400}


@costar.judge_tool(timeout=0.3)
def slow_check() -> str:
    """Takes too long."""
    time.sleep(2)
    return "late"
'''
SERVER = """
from mcp.server.mcpserver import MCPServer

server = MCPServer(name="schema_registry", version="1.0.0")


@server.tool(description="The columns of a table in the schema registry.")
def lookup(table: str) -> dict:
    return {"table": table, "columns": ["id", "status", "total"]}


if __name__ == "__main__":
    server.run()
"""
JUDGES = """
judges:
  - name: sql-reviewer
    use: agentic
    params:
      instructions: The agent's SQL must lint clean and name real columns.
      tools: [search, lint_sql, slow_check, schema_registry.lookup]
"""
SCRIPT = {
    "rules": [
        {
            "when": {"last_role": "tool"},
            "reply": {
                "tool_calls": [
                    {
                        "name": "finish",
                        "arguments": {"passed": False, "rationale": "lint problems"},
                    }
                ]
            },
        },
        {
            "when": {"last_role": "user"},
            "reply": {
                "tool_calls": [
                    {"name": "lint_sql", "arguments": {"sql": "select * from orders"}},
                    {"name": "schema_registry__lookup", "arguments": {"table": "orders"}},
                    {"name": "slow_check", "arguments": {}},
                ]
            },
        },
    ]
}


def project(root: Path) -> Path:
    write_files(
        root,
        {
            "costar.toml": "[costar]\njudge_mcp_servers = "
            f"{{schema_registry = '{sys.executable} schema_server.py'}}\n",
            "schema_server.py": SERVER,
            "judges/tools.py": TOOLS,
            "judges/review.yaml": JUDGES,
        },
    )
    return root


def trace():
    return view(
        span("c1", "turn-1", "CHAIN", 0, 5, inputs="report", outputs="select * from orders"),
        tool("t1", "run_sql", 1, {"sql": "select * from orders"}, [[1, "paid"]]),
        inputs={"turns": ["report"]},
        output="select * from orders",
    )


def reviewer(root: Path):
    return next(j for j in load_judges(root, ["judges"]) if j.name == "sql-reviewer")


@pytest.mark.slow
def test_an_agentic_judge_calls_a_python_tool_and_an_mcp_tool_bounded_and_recorded(
    tmp_path: Path, fake_llm
) -> None:
    fake = fake_llm(SCRIPT)
    verdict = reviewer(project(tmp_path)).score(trace(), Scenario(id="s", input="x"))
    assert (verdict.status, verdict.passed) == ("ok", False), verdict.error

    offered = {t["function"]["name"]: t["function"] for t in fake.requests[0]["tools"]}
    assert {"search", "lint_sql", "slow_check", "schema_registry__lookup", "finish"} == set(offered)
    lint = offered["lint_sql"]["parameters"]
    assert lint["required"] == ["sql"] and lint["properties"]["dialect"]["default"] == "sqlite"
    assert offered["schema_registry__lookup"]["parameters"]["required"] == ["table"]
    assert offered["slow_check"]["description"] == "Takes too long."

    calls = {c["tool"]: c for c in verdict.details["tool_calls"]}
    assert list(calls) == ["lint_sql", "schema_registry.lookup", "slow_check"]
    assert calls["lint_sql"]["truncated"] and calls["lint_sql"]["bytes"] <= 2000
    assert calls["lint_sql"]["arguments"] == {"sql": "select * from orders"}
    assert json.loads(calls["schema_registry.lookup"]["excerpt"])["columns"][0] == "id"
    assert "took longer than 0.3s" in calls["slow_check"]["error"]
    assert verdict.cost.tool_calls == 3 and verdict.cost.tool_seconds >= 0.3

    messages = fake.requests[-1]["messages"]
    boundary = messages[0]["content"].split("Everything between <")[1].split(">")[0]
    results = [m["content"] for m in messages if m["role"] == "tool"]
    assert len(results) == 3
    for content in results:  # project tool output is data too, and bounded
        assert content.startswith(f"<{boundary}>\n") and len(content.encode()) <= MAX_RESULT
    mcp = json.loads(results[1].split(f"<{boundary}>\n")[1].split(f"\n</{boundary}>")[0])
    assert json.loads(mcp["content"])["columns"] == ["id", "status", "total"]


def test_a_tools_code_is_part_of_the_judges_version(tmp_path: Path) -> None:
    root = project(tmp_path)
    before = reviewer(root).version
    assert reviewer(root).version == before
    (root / "schema_server.py").write_text(SERVER.replace("total", "amount"))
    after_server = reviewer(root).version
    assert after_server != before
    (root / "judges/tools.py").write_text(TOOLS.replace("is discouraged", "is slow"))
    assert reviewer(root).version != after_server


def test_an_unknown_tool_or_server_is_one_clear_line(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "judges/review.yaml").write_text(JUDGES.replace("lint_sql,", "lint_sqll,"))
    with pytest.raises(InputError, match=r"review.yaml:3: .*unknown tool 'lint_sqll'"):
        load_judges(root, ["judges"])
    (root / "judges/review.yaml").write_text(JUDGES.replace("schema_registry.", "registry."))
    with pytest.raises(InputError, match=r"no MCP server 'registry' in costar.toml"):
        load_judges(root, ["judges"])
