"""The `costar` command as a user runs it: in-process through Typer's runner on a real store;
real subprocesses (marked slow) where the process is the point: signals, a fresh interpreter."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _helpers import run_cli, write_files

COSTAR = [sys.executable, "-m", "costar.cli"]


def costar(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(project, *args)


SUITE = {
    f"scenarios/s{i}.yaml": f"id: s{i}\ntags: [{'edge' if i % 2 else 'common'}]\ninput: q{i}\n"
    for i in range(6)
}


def test_run_prints_json_summary_and_show_and_runs_agree(project: Path) -> None:
    write_files(project, SUITE)
    done = costar(project, "run", "--agent", "sample_agents:echo", "-n", "2", "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert (summary["ok"], summary["written"], summary["status"]) == (12, 12, "finished")

    listed = json.loads(costar(project, "runs", "--json").stdout)
    assert [r["run_id"] for r in listed] == [summary["run_id"]]
    assert listed[0]["counts"]["ok"] == 12

    shown = costar(project, "show", summary["run_id"][:8], "--json")
    data = json.loads(shown.stdout)
    assert data["traces"] == 12 and set(data["scenarios"]) == {f"s{i}" for i in range(6)}

    human = costar(project, "show", summary["run_id"])
    assert "12 traces stored" in human.stdout


def test_tag_and_scenario_filters(project: Path) -> None:
    write_files(project, SUITE)
    out = costar(project, "run", "-a", "sample_agents:echo", "--tag", "edge", "--json")
    assert json.loads(out.stdout)["by_scenario"].keys() == {"s1", "s3", "s5"}
    out = costar(project, "run", "-a", "sample_agents:echo", "-s", "s4", "--json")
    assert list(json.loads(out.stdout)["by_scenario"]) == ["s4"]


def test_bad_scenarios_exit_2_with_one_line_each_and_no_traceback(project: Path) -> None:
    write_files(
        project,
        {"scenarios/a.yaml": "id: a\ninput: hi\nsetp: {}\n", "scenarios/b.yaml": "id: b\n"},
    )
    done = costar(project, "run", "--agent", "sample_agents:echo")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2 and "Traceback" not in done.stderr
    assert lines[0].endswith(
        "a.yaml:3:1: unknown field 'setp' (remove it or fix its spelling; "
        "`costar schema` lists fields)"
    )
    assert not (project / ".costar" / "unsaved").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run"], "no agent given"),
        (["run", "nowhere", "-a", "sample_agents:echo"], "suite folder not found"),
        (["run", "-a", "missing_mod:fn"], "cannot import missing_mod"),
        (["show", "abc123"], "no run or trace 'abc123'"),
        (["run", "-a", "sample_agents:echo", "--resume", "beef"], "no run 'beef'"),
    ],
)
def test_usage_errors_are_one_line_exit_2(project: Path, args: list[str], message: str) -> None:
    write_files(project, SUITE)
    done = costar(project, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("costar: error: ") and message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_config_file_is_a_usage_error(project: Path) -> None:
    (project / "costar.toml").write_text("[costar]\ntrials = 'many'\n")
    done = costar(project, "runs")
    assert done.returncode == 2 and "'trials'" in done.stderr and "costar.toml" in done.stderr


@pytest.mark.slow
def test_ctrl_c_keeps_finished_trials_and_resume_runs_the_rest(project: Path) -> None:
    write_files(project, SUITE)
    marks = project / "started"
    marks.mkdir()
    env = {**os.environ, "SLEEP": "0.7", "MARK_DIR": str(marks)}
    agent = f"cmd:{sys.executable} sample_agents.py slow"
    proc = subprocess.Popen(
        [*COSTAR, "run", "-a", agent, "-n", "3", "-c", "2", "--json"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while len(list(marks.iterdir())) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)  # wait until some trials have finished, however slow the start
    assert proc.poll() is None, "the run ended before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    first = json.loads(out)
    assert first["status"] == "interrupted"
    assert 0 < first["written"] < 18

    # the rest need not sleep: what is checked is which trials the resume runs
    resumed = run_cli(project, "run", "--resume", first["run_id"], "--json", env={"SLEEP": "0"})
    assert resumed.returncode == 0, resumed.stderr
    second = json.loads(resumed.stdout)
    assert second["skipped"] == first["written"]
    assert second["planned"] == 18 - first["written"] == second["written"]

    shown = json.loads(costar(project, "show", first["run_id"], "--json").stdout)
    assert shown["traces"] == 18 and shown["status"] == "FINISHED"
    pairs = [(sid, t["trial"]) for sid, e in shown["scenarios"].items() for t in e["traces"]]
    assert len(set(pairs)) == 18  # every trial exactly once


@pytest.mark.slow
def test_help_is_fast_path_and_never_imports_mlflow() -> None:
    code = (
        "import sys\n"
        "from costar.cli import app\n"
        "try:\n"
        "    app(['--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "for cmd in ('run', 'runs', 'show', 'schema'):\n"
        "    try:\n"
        "        app([cmd, '--help'], standalone_mode=False)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported'\n"
        "print('clean')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("clean")
    assert "--resume" in done.stdout and "--keep-workspaces" in done.stdout


def test_schema_prints_the_scenario_json_schema(tmp_path: Path) -> None:
    done = run_cli(tmp_path, "schema")
    schema = json.loads(done.stdout)
    assert schema["title"] == "Scenario" and "id" in schema["required"]
    # fixed turns or a simulated user: one of the two
    assert schema["anyOf"] == [{"required": ["input"]}, {"required": ["user"]}]
    assert "from" in json.dumps(schema["$defs"]["FileSpec"])
    events = json.loads(run_cli(tmp_path, "schema", "event").stdout)
    assert events["title"] == "AgentEvent"
    bad = run_cli(tmp_path, "schema", "nope")
    assert bad.returncode == 2


def test_run_exits_1_and_lists_each_failed_trials_reason_unless_errors_are_allowed(
    project: Path,
) -> None:
    write_files(
        project,
        {
            "scenarios/boom.yaml": "id: boom\ninput: crash please\n",
            "scenarios/slow.yaml": "id: slow\ninput: wait\n",
        },
    )
    crashed = costar(project, "run", "-a", "sample_agents:crash", "-s", "boom", "-n", "2")
    assert crashed.returncode == 1, crashed.stderr
    reasons = [line for line in crashed.stdout.splitlines() if line.startswith("error boom#")]
    assert len(reasons) == 2 and all("RuntimeError" in line for line in reasons)
    assert "--allow-errors" in crashed.stdout
    slow = costar(
        project, "run", "-a", "sample_agents:sleepy", "-s", "slow", "--timeout", "0.5", "--json"
    )
    assert slow.returncode == 1
    (failure,) = json.loads(slow.stdout)["failures"]
    assert failure["status"] == "timeout" and failure["scenario_id"] == "slow"
    allowed = costar(project, "run", "-a", "sample_agents:crash", "-s", "boom", "--allow-errors")
    assert allowed.returncode == 0 and "error boom#0" in allowed.stdout
    fine = costar(project, "run", "-a", "sample_agents:echo", "-s", "boom")
    assert fine.returncode == 0 and "error boom" not in fine.stdout


def test_verdicts_failed_tells_no_failures_from_not_assessed(project: Path) -> None:
    write_files(project, {"scenarios/hi.yaml": "id: hi\ninput: hello\n"})
    run_id = json.loads(costar(project, "run", "-a", "sample_agents:echo", "--json").stdout)[
        "run_id"
    ]
    before = costar(project, "verdicts", run_id, "--failed")
    assert "run `costar assess" in before.stdout
    assert costar(project, "assess", run_id).returncode == 0
    after = costar(project, "verdicts", run_id, "--failed")
    assert after.returncode == 0 and "no failing verdicts" in after.stdout
    assert "costar assess" not in after.stdout
    other = costar(project, "verdicts", run_id, "--judge", "nobody")
    assert "no verdicts of judge nobody" in other.stdout
