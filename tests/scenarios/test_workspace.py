"""The initial state each trial starts from, and the final-state snapshot judges read."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest

from _helpers import write_files
from costar.scenarios import SetupError, build_workspace, load_suite, snapshot_state

SCENARIO = """
id: all-kinds
input: go
setup:
  files:
    inline.txt: hello
    nested/spec.md: {content: "# spec"}
    policy.md: {from: fixtures/policy.md}
  sqlite:
    from_sql.db: |
      CREATE TABLE t (a INTEGER, b TEXT);
      INSERT INTO t VALUES (1, 'x'), (2, 'y');
    from_rows.db:
      customers: [{id: 7, name: Ana, tags: [gold]}, {id: 8, name: Bo}]
    mixed.db: {sql_file: fixtures/schema.sql, tables: {items: [{name: kettle, qty: 3}]}}
  env: {SHOP_NAME: Corner}
  commands:
    - "echo $SHOP_NAME > from_command.txt"
"""


@pytest.fixture
def item(tmp_path: Path):
    write_files(
        tmp_path,
        {
            "suite/s.yaml": SCENARIO,
            "suite/fixtures/policy.md": "30 days\n",
            "suite/fixtures/schema.sql": "CREATE TABLE items (name TEXT, qty INTEGER);",
        },
    )
    return load_suite(tmp_path / "suite").scenarios[0]


def test_every_setup_kind_builds_the_initial_state(item, tmp_path: Path) -> None:
    ws = build_workspace(item, tmp_path / "work")
    root = ws.path
    assert (root / "inline.txt").read_text() == "hello"
    assert (root / "nested/spec.md").read_text() == "# spec"
    assert (root / "policy.md").read_text() == "30 days\n"
    assert (root / "from_command.txt").read_text() == "Corner\n"  # env reaches commands
    assert ws.env["SHOP_NAME"] == "Corner" and ws.env["COSTAR_WORKSPACE"] == str(root)
    with sqlite3.connect(root / "from_sql.db") as conn:
        assert conn.execute("select a, b from t order by a").fetchall() == [(1, "x"), (2, "y")]
    with sqlite3.connect(root / "from_rows.db") as conn:
        rows = conn.execute("select id, name, tags from customers order by id").fetchall()
        assert rows == [(7, "Ana", '["gold"]'), (8, "Bo", None)]
    with sqlite3.connect(root / "mixed.db") as conn:
        assert conn.execute("select name, qty from items").fetchall() == [("kettle", 3)]
    ws.remove()
    assert not root.exists()


def test_each_trial_gets_its_own_workspace(item, tmp_path: Path) -> None:
    a, b = build_workspace(item, tmp_path), build_workspace(item, tmp_path)
    (a.path / "inline.txt").write_text("changed")
    assert (b.path / "inline.txt").read_text() == "hello"


def test_snapshot_lists_files_and_database_tables(item, tmp_path: Path) -> None:
    ws = build_workspace(item, tmp_path)
    (ws.path / "blob.bin").write_bytes(b"\x00\x01" * 10)
    snap = snapshot_state(ws.path)
    files = {f["path"]: f for f in snap["files"]}
    assert files["inline.txt"]["text"] == "hello"
    assert files["inline.txt"]["sha256"] == hashlib.sha256(b"hello").hexdigest()
    assert files["blob.bin"]["size"] == 20 and "text" not in files["blob.bin"]
    assert "text" not in files["from_sql.db"]  # databases are described, not dumped as text
    table = snap["sqlite"]["from_sql.db"]["tables"]["t"]
    assert table["row_count"] == 2
    assert table["rows"] == [[1, "x"], [2, "y"]]
    assert table["columns"] == [["a", "INTEGER"], ["b", "TEXT"]]
    assert "CREATE TABLE t" in table["schema"]


def test_snapshot_table_hash_tracks_content_not_row_order(tmp_path: Path) -> None:
    def db(path: Path, rows: list[tuple[int, str]]) -> dict:
        path.mkdir()
        with sqlite3.connect(path / "d.db") as conn:
            conn.execute("create table t (a, b)")
            conn.executemany("insert into t values (?, ?)", rows)
        return snapshot_state(path)["sqlite"]["d.db"]["tables"]["t"]

    one = db(tmp_path / "one", [(1, "x"), (2, "y")])
    reordered = db(tmp_path / "two", [(2, "y"), (1, "x")])
    changed = db(tmp_path / "three", [(1, "x"), (2, "z")])
    assert one["hash"] == reordered["hash"] != changed["hash"]


def test_large_tables_keep_counts_and_hash_but_not_rows(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "big.db") as conn:
        conn.execute("create table t (a)")
        conn.executemany("insert into t values (?)", [(i,) for i in range(500)])
    table = snapshot_state(tmp_path)["sqlite"]["big.db"]["tables"]["t"]
    assert table["row_count"] == 500 and "rows" not in table and len(table["hash"]) == 64


def test_failing_setup_command_is_reported_and_cleaned_up(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"s/a.yaml": "id: a\ninput: x\nsetup:\n  commands: ['echo oops >&2; exit 4']\n"},
    )
    item = load_suite(tmp_path / "s").scenarios[0]
    with pytest.raises(SetupError, match="exited 4.*oops"):
        build_workspace(item, tmp_path / "work")
    assert list((tmp_path / "work").iterdir()) == []


def test_setup_command_past_its_timeout_is_killed(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {"s/a.yaml": "id: a\ninput: x\nsetup:\n  commands: [{run: 'sleep 30', timeout: 0.3}]\n"},
    )
    item = load_suite(tmp_path / "s").scenarios[0]
    with pytest.raises(SetupError, match="timed out"):
        build_workspace(item, tmp_path / "work")


def test_bad_seed_sql_is_a_setup_error(tmp_path: Path) -> None:
    write_files(tmp_path, {"s/a.yaml": "id: a\ninput: x\nsetup:\n  sqlite:\n    d.db: 'NOT SQL'\n"})
    item = load_suite(tmp_path / "s").scenarios[0]
    with pytest.raises(SetupError, match="seeding d.db failed"):
        build_workspace(item, tmp_path / "work")
