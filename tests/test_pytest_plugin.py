"""The pytest plugin turns a judged run into scenario x judge test items."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from _helpers import write_files
from costar.assess import AssessConfig, assess
from costar.config import load_settings
from costar.harness import RunConfig, run_suite


@pytest.mark.slow
def test_judged_run_becomes_test_items(project: Path) -> None:
    write_files(
        project,
        {
            "scenarios/good.yaml": "id: good\ninput: hi\nexpectations: {facts: ['echo: hi']}\n",
            "scenarios/bad.yaml": "id: bad\ninput: ho\nexpectations: {facts: ['never said']}\n",
        },
    )
    settings = load_settings(start=project)
    run_id = run_suite(
        RunConfig.from_settings(settings, agent="sample_agents:echo", trials=2)
    ).run_id
    assess(
        AssessConfig(
            root=project,
            tracking_uri=settings.store_uri(),
            run_ids=[run_id],
            judges=["expected-facts", "output-present", "budgets"],
            mirror=False,
        )
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "costar.pytest_plugin",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(project),
        "-rA",
        "--costar-run",
        "last",
    ]
    done = subprocess.run(cmd, cwd=project, capture_output=True, text=True, timeout=180)
    out = done.stdout
    assert done.returncode == 1, out[-3000:]
    assert "PASSED ::good::expected-facts" in out and "FAILED ::bad::expected-facts" in out
    assert "PASSED ::bad::output-present" in out and "the scenario sets no budgets" in out
    assert "replies never state: ['never said']" in out
    assert "1 failed, 3 passed, 2 skipped in" in out  # and no warnings from dependencies
    lenient = subprocess.run(
        [*cmd, "--costar-min-rate", "0"], cwd=project, capture_output=True, text=True, timeout=180
    )
    assert lenient.returncode == 0, lenient.stdout[-2000:]
