"""What the labelling page is sent: the final state as tables (with what the snapshot could
not keep said, not hidden) and the scenario's expectations as plain lines."""

from __future__ import annotations

from costar.scenarios import Scenario
from costar.web import scenario_document, state_document
from costar.web._label_doc import MAX_ROWS


def test_tables_say_what_the_snapshot_did_not_keep() -> None:
    snapshot = {
        "files": [
            {"path": "shop.db", "size": 8192},
            {"path": "logo.png", "size": 99},
            {"path": "a.txt", "size": 2, "text": "hi"},
            {"path": "gone", "error": "permission denied"},
        ],
        "sqlite": {
            "shop.db": {
                "tables": {
                    "big": {"columns": [["id", "INTEGER"]], "row_count": 5000, "hash": "ab" * 32},
                    "many": {
                        "columns": [["id", "INTEGER"], ["note", "TEXT"]],
                        "row_count": MAX_ROWS + 5,
                        "rows": [[i, None if i % 2 else {"x": i}] for i in range(MAX_ROWS + 5)],
                    },
                }
            },
            "broken.db": {"error": "file is not a database"},
        },
        "truncated": True,
    }
    doc = state_document(snapshot)
    notes = {f["path"]: f.get("note") or f.get("text") for f in doc["files"]}
    assert notes == {
        "shop.db": "SQLite database (its tables are below)",
        "logo.png": "binary or too large to keep as text",
        "a.txt": "hi",
        "gone": "unreadable: permission denied",
    }
    broken, shop = doc["databases"]
    assert broken == {"name": "broken.db", "tables": [], "error": "file is not a database"}
    big, many = shop["tables"]
    assert big["rows"] == [] and big["note"].startswith("5,000 rows, too many to keep")
    assert len(many["rows"]) == MAX_ROWS and many["note"] == f"the first {MAX_ROWS} of 205 rows"
    assert many["rows"][:2] == [["0", '{"x": 0}'], ["1", "NULL"]]  # every cell is text
    assert doc["truncated"] is True


def test_the_expectations_are_lines_a_person_reads() -> None:
    scenario = Scenario.model_validate(
        {
            "id": "s",
            "input": "hi",
            "expectations": {
                "tool_calls": [
                    {"name": "find_order", "args": {"id": 1}},
                    {"name": "issue_refund", "max": 0},
                    {"name": "notify", "min": 2, "max": 3, "exact": True},
                ],
                "tool_call_mode": "exact",
                "artifacts": [{"path": "out.json", "regex": "^{", "schema": {"type": "object"}}],
                "state": [{"sql": "select 1", "rows": [[1]], "db": "a.db"}],
            },
        }
    )
    sections = {s["title"]: s["lines"] for s in scenario_document(scenario)["expectations"]}
    assert sections == {
        "Tool calls (exact)": [
            'find_order {"id": 1}',
            "issue_refund: never",
            "notify (exact arguments): 2 to 3 calls",
        ],
        "Files in the final workspace": [
            'out.json, matching /^{/, JSON with schema {"type": "object"}'
        ],
        "Final database state": ["select 1 → [[1]] (in a.db)"],
    }
