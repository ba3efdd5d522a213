"""Fixture paths a scenario names stay inside the suite folder unless the project opts in."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from _helpers import run_cli, write_files

OUTSIDE = [
    ("from-absolute", "setup:\n  files:\n    stolen.txt: {from: /etc/passwd}\n", "/etc/passwd"),
    ("from-dotdot", "setup:\n  files:\n    stolen.txt: {from: ../secret.txt}\n", "../secret.txt"),
    ("from-symlink", "setup:\n  files:\n    stolen.txt: {from: link.txt}\n", "link.txt"),
    ("sql-dotdot", "setup:\n  sqlite:\n    db.sqlite: {sql_file: ../seed.sql}\n", "../seed.sql"),
]


def _project(project: Path, body: str) -> Path:
    workspaces = project / "workspaces"
    (project / "costar.toml").write_text(
        f"[costar]\nsuite = 'scenarios'\nworkspace_dir = '{workspaces}'\n", encoding="utf-8"
    )
    write_files(
        project,
        {
            "secret.txt": "TOP-SECRET-FIXTURE\n",
            "seed.sql": "create table t (x); insert into t values ('TOP-SECRET-FIXTURE');\n",
            "scenarios/a.yaml": f"id: a\ninput: hi\n{body}",
        },
    )
    os.symlink(project / "secret.txt", project / "scenarios" / "link.txt")
    return workspaces


@pytest.mark.parametrize(("name", "body", "shown"), OUTSIDE, ids=[o[0] for o in OUTSIDE])
def test_paths_outside_the_suite_are_refused_and_nothing_is_stored(
    project: Path, name: str, body: str, shown: str
) -> None:
    workspaces = _project(project, body)
    done = run_cli(project, "run", "--agent", "sample_agents:echo")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert f"a.yaml:{3 + body.count(chr(10)) - 1}:" in line  # file:line of the offending path
    assert f"'{shown}'" in line and "outside the suite folder" in line
    assert "allow_outside_fixtures = true" in line
    assert not workspaces.exists() or not any(workspaces.iterdir())  # nothing copied
    runs = run_cli(project, "runs", "--json")
    assert json.loads(runs.stdout) == []  # nothing stored
    assert b"TOP-SECRET-FIXTURE" not in (project / ".costar" / "mlflow.db").read_bytes()


def test_the_project_can_opt_in_to_outside_fixtures(project: Path) -> None:
    _project(project, OUTSIDE[1][1])
    with (project / "costar.toml").open("a", encoding="utf-8") as fh:
        fh.write("allow_outside_fixtures = true\n")
    done = run_cli(project, "run", "--agent", "sample_agents:echo", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["ok"] == 1


def test_symlinks_and_subfolders_inside_the_suite_still_work(project: Path) -> None:
    _project(project, "setup:\n  files:\n    copy.txt: {from: data/inner-link.txt}\n")
    write_files(project, {"scenarios/data/real.txt": "inside\n"})
    os.symlink(
        project / "scenarios" / "data" / "real.txt", project / "scenarios/data/inner-link.txt"
    )
    done = run_cli(project, "run", "--agent", "sample_agents:echo", "--json")
    assert done.returncode == 0, done.stderr
