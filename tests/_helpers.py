"""What the tests share besides fixtures: verdicts with known contents, files on disk, and the
CLI in process or as a real subprocess. conftest.py holds only fixtures and hooks: pytest loads
it as a plugin, and a test importing it as a module would load a second copy."""

from __future__ import annotations

import contextlib
import gc
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path


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
