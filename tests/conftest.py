"""Shared fixtures: a migrated MLflow store copied per test, projects and suites on disk."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from costar._env import quiet_dependencies

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))  # sample_agents for in-process runs

quiet_dependencies()

# the shared fixtures (fake_llm) and the check that a run leaves the checkout as it found it
pytest_plugins = ["costar.testing.fixtures", "_clean_checkout", "pytester"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("COSTAR_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MLflow SQLite store with migrations applied; copying it is far cheaper than migrating."""
    from costar.traces import TraceStore

    folder = tmp_path_factory.mktemp("template")
    store = TraceStore(f"sqlite:///{folder / 'mlflow.db'}")
    store._connect()
    store._tracing.store  # noqa: B018 - opening the store runs the migrations
    return folder / "mlflow.db"


@pytest.fixture
def store_uri(tmp_path: Path, template_db: Path) -> str:
    target = tmp_path / ".costar" / "mlflow.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db, target)
    return f"sqlite:///{target}"


def make_verdict(
    judge: str,
    scenario: str,
    trial: int = 0,
    passed=None,
    value=None,
    status: str = "ok",
    kind: str = "check",
    **fields,
):
    """A Verdict with known contents, for tests of what consumes verdicts."""
    from costar.judges import Verdict

    data = {
        "judge": judge,
        "judge_version": "v",
        "kind": kind,
        "scenario_id": scenario,
        "trace_id": f"tr-{judge}{scenario}{trial}",
        "trial": trial,
        "passed": passed,
        "value": value,
        "status": status,
    }
    return Verdict(**{**data, **fields})


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def project(tmp_path: Path, store_uri: str) -> Path:
    """A project folder with costar.toml (store in the project) and the sample agents."""
    shutil.copyfile(TESTS / "sample_agents.py", tmp_path / "sample_agents.py")
    write_files(tmp_path, {"costar.toml": "[costar]\nsuite = 'scenarios'\nconcurrency = 4\n"})
    return tmp_path


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """`costar ARGS` in `cwd`, in this process (Typer's CliRunner): the same commands, exit codes
    and output as the console script, without paying `import mlflow` per call. Modules the
    command imported from `cwd` (the project's agent and judges) and sys.path entries it added
    are dropped afterwards, so the next project imports its own. Use `run_cli_process` where a
    real process is the point (signals, the entry point, servers)."""
    from typer.testing import CliRunner

    from costar.cli import app

    modules, path = set(sys.modules), list(sys.path)
    root = Path(cwd).resolve()
    try:
        with contextlib.chdir(cwd):
            result = CliRunner().invoke(app, list(args), env=env, catch_exceptions=True)
    finally:
        for name in set(sys.modules) - modules:
            file = getattr(sys.modules[name], "__file__", None) or ""
            if file and Path(file).resolve().is_relative_to(root):
                del sys.modules[name]
        sys.path[:] = path
        # what a command's libraries leave unclosed (sockets, an implicit event loop) a process
        # would drop at exit; collect it here, as exit would, not during a later test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(
        ["costar", *args], result.exit_code, result.stdout, result.stderr
    )


def run_cli_process(cwd: Path, *args: str, **kwargs: object) -> subprocess.CompletedProcess:
    """`costar ARGS` as a real subprocess in `cwd`, output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "costar.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        **kwargs,  # type: ignore[call-overload]
    )
