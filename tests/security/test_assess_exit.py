"""`costar assess` fails CI when judges errored more than the project tolerates."""

from __future__ import annotations

import json
from pathlib import Path

from _helpers import run_cli, write_files

BOOM = """
import costar

@costar.judge(name="fragile", kind="check")
def fragile(view, scenario):
    if view.scenario_id == "s0":
        raise RuntimeError("judge bug")
    return costar.Outcome(passed=True, rationale="fine")
"""


def _recorded(project: Path, max_error_rate: float | None = None) -> str:
    extra = f"max_error_rate = {max_error_rate}\n" if max_error_rate is not None else ""
    write_files(
        project,
        {
            "costar.toml": f"[costar]\nsuite = 'scenarios'\n{extra}",
            "judges/fragile.py": BOOM,
            **{f"scenarios/s{i}.yaml": f"id: s{i}\ninput: q{i}\n" for i in range(4)},
        },
    )
    done = run_cli(project, "run", "--agent", "sample_agents:echo", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["run_id"]


def test_judge_errors_fail_assess_and_say_where_to_look(project: Path) -> None:
    run_id = _recorded(project)
    done = run_cli(project, "assess", "--last", "-j", "fragile")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "1 judge error" in done.stderr and "fragile: 1 of 4 (25%, 95% CI" in done.stderr
    assert f"costar verdicts {run_id[:12]} --failed" in done.stderr
    assert "--allow-errors" in done.stderr
    as_json = run_cli(project, "assess", "--last", "-j", "fragile", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["errors"] == 1  # the error is retried, and errs again


def test_allow_errors_keeps_the_old_exit_code(project: Path) -> None:
    _recorded(project)
    done = run_cli(project, "assess", "--last", "-j", "fragile", "--allow-errors")
    assert done.returncode == 0, done.stderr


def test_an_error_rate_within_max_error_rate_passes(project: Path) -> None:
    _recorded(project, max_error_rate=0.25)
    assert run_cli(project, "assess", "--last", "-j", "fragile").returncode == 0
    (project / "costar.toml").write_text("[costar]\nmax_error_rate = 0.2\n", encoding="utf-8")
    assert run_cli(project, "assess", "--last", "-j", "fragile").returncode == 1


def test_no_judge_errors_exit_0(project: Path) -> None:
    _recorded(project)
    assert run_cli(project, "assess", "--last", "-j", "output-present").returncode == 0
