"""A Ray address where no cluster listens: one line and exit 2 at once, no run left behind
(ray.init itself would retry for minutes, printing connection warnings)."""

from __future__ import annotations

import json
from pathlib import Path

from _helpers import run_cli, write_files
from _mlflow_server import free_port


def test_an_address_with_no_ray_is_one_line_and_exit_2_before_any_run(project: Path) -> None:
    write_files(project, {"scenarios/a.yaml": "id: a\ninput: hi\n"})
    port = free_port()  # nothing listens here
    done = run_cli(
        project,
        "run",
        "-a",
        "sample_agents:echo",
        "--executor",
        "ray",
        "--address",
        f"127.0.0.1:{port}",
    )
    assert done.returncode == 2, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"costar: error: no Ray cluster answers at 127.0.0.1:{port}")
    assert f"ray start --head --port {port}" in line
    assert json.loads(run_cli(project, "runs", "--json").stdout) == []


def test_assess_on_an_address_with_no_ray_is_one_line_and_exit_2(project: Path) -> None:
    write_files(project, {"scenarios/a.yaml": "id: a\ninput: hi\n"})
    assert run_cli(project, "run", "-a", "sample_agents:echo").returncode == 0
    port = free_port()
    done = run_cli(
        project, "assess", "--last", "--executor", "ray", "--address", f"127.0.0.1:{port}"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(f"costar: error: no Ray cluster answers at 127.0.0.1:{port}")
    )
