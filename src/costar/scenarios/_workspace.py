"""Build a trial's workspace from a scenario's setup, and snapshot its final state.

The snapshot goes into the trace so judges check outcomes without re-running anything: every
file with size and sha256 (text of small text files), and for each SQLite database every table
with its schema, columns, row count, an order-independent content hash and the rows of small
tables.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import costar._protocol as protocol
from costar._exceptions import SetupError
from costar._proc import run_process
from costar.scenarios._load import LoadedScenario

SNAPSHOT_VERSION = 1
TEXT_LIMIT = 64 * 1024  # file text kept in the snapshot up to this size
ROWS_LIMIT = 100  # rows of a table kept when it has at most this many
MAX_FILES = 5_000  # files listed before the snapshot says it was cut
SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass
class Workspace:
    """A trial's working folder and the environment the agent runs with."""

    path: Path
    env: dict[str, str] = field(default_factory=dict)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _seed_sqlite(db_path: Path, sql: str | None, tables: dict[str, list[dict[str, Any]]]) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(db_path)
    try:
        if sql:
            conn.executescript(sql)
        for table, rows in tables.items():
            if not rows:
                continue
            columns = list(dict.fromkeys(key for row in rows for key in row))
            quoted = ", ".join(f'"{c}"' for c in columns)
            conn.execute(f'CREATE TABLE IF NOT EXISTS "{table}" ({quoted})')
            marks = ", ".join("?" for _ in columns)
            conn.executemany(
                f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})',
                [
                    [
                        json.dumps(v) if isinstance(v, (dict, list)) else v
                        for v in (row.get(c) for c in columns)
                    ]
                    for row in rows
                ],
            )
        conn.commit()
    except sqlite3.Error as exc:
        raise SetupError(f"seeding {db_path.name} failed: {exc}") from exc
    finally:
        conn.close()


def build_workspace(
    item: LoadedScenario, parent: Path | None = None, setup_timeout: float = 60.0
) -> Workspace:
    """A fresh folder holding the scenario's initial state; raises SetupError if setup fails."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f"{item.id[:40]}-", dir=parent))
    setup = item.scenario.setup
    env = {**os.environ, **setup.env, protocol.WORKSPACE: str(path)}
    ws = Workspace(path=path, env=env)
    try:
        for rel, spec in setup.files.items():
            target = path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(spec, str):
                target.write_text(spec, encoding="utf-8")
            elif spec.content is not None:
                target.write_text(spec.content, encoding="utf-8")
            else:
                shutil.copyfile(item.base_dir / str(spec.from_), target)
        for rel, seed in setup.seeds().items():
            sql = seed.sql or ""
            if seed.sql_from:
                sql = (item.base_dir / seed.sql_from).read_text(encoding="utf-8") + "\n" + sql
            _seed_sqlite(path / rel, sql, seed.tables)
        for command in setup.command_specs():
            result = run_process(
                command.run,
                cwd=path,
                env=env,
                shell=True,
                timeout=command.timeout or setup_timeout,
            )
            if result.timed_out:
                raise SetupError(f"setup command timed out: {command.run!r}")
            if result.returncode != 0:
                tail = result.stderr_text.strip()[-500:]
                raise SetupError(
                    f"setup command exited {result.returncode}: {command.run!r}: {tail}"
                )
    except SetupError:
        ws.remove()
        raise
    except Exception as exc:  # OSError, or a value the OS refuses (ValueError): never leak it
        ws.remove()
        raise SetupError(f"building the workspace failed: {exc}") from exc
    return ws


def _table_snapshot(conn: sqlite3.Connection, name: str, schema: str | None) -> dict[str, Any]:
    columns = [[row[1], row[2]] for row in conn.execute(f'PRAGMA table_info("{name}")')]
    rows = conn.execute(f'SELECT * FROM "{name}"').fetchall()
    encoded = sorted(json.dumps(list(r), default=repr) for r in rows)
    digest = hashlib.sha256("\n".join(encoded).encode()).hexdigest()
    out: dict[str, Any] = {
        "schema": schema,
        "columns": columns,
        "row_count": len(rows),
        "hash": digest,
    }
    if len(rows) <= ROWS_LIMIT:
        out["rows"] = [list(r) for r in rows]
    return out


def _sqlite_snapshot(path: Path) -> dict[str, Any]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        return {"tables": {name: _table_snapshot(conn, name, sql) for name, sql in tables}}
    except sqlite3.Error as exc:
        return {"error": str(exc)}
    finally:
        conn.close()


def _file_entry(path: Path, rel: str) -> tuple[dict[str, Any], bool]:
    data = path.read_bytes()
    entry: dict[str, Any] = {
        "path": rel,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    is_sqlite = data.startswith(SQLITE_MAGIC)
    if not is_sqlite and len(data) <= TEXT_LIMIT and b"\x00" not in data:
        with contextlib.suppress(UnicodeDecodeError):
            entry["text"] = data.decode("utf-8")
    return entry, is_sqlite


def snapshot_state(root: Path) -> dict[str, Any]:
    """The final state of a workspace as plain JSON-ready data."""
    files: list[dict[str, Any]] = []
    databases: dict[str, Any] = {}
    truncated = False
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(root).as_posix()
            if full.is_symlink() or not full.is_file():
                continue
            if len(files) >= MAX_FILES:
                truncated = True
                continue
            try:
                entry, is_sqlite = _file_entry(full, rel)
            except OSError as exc:
                files.append({"path": rel, "error": str(exc)})
                continue
            files.append(entry)
            if is_sqlite:
                databases[rel] = _sqlite_snapshot(full)
    return {
        "version": SNAPSHOT_VERSION,
        "files": files,
        "sqlite": databases,
        "truncated": truncated,
    }
