"""A pytest plugin: the run fails when the tests left the checkout dirty.

At the start of the session it notes `git status --porcelain` of the rootdir (with a hash of
each file listed, so a file already dirty that a test then changes is seen too); at the end,
any line that is new or whose file changed is printed and the exit status becomes 1. What it
cannot see: files written to ignored paths (.costar/, __pycache__/, .pytest_cache/ are ignored
by design) and files a test writes and removes again. Outside a git checkout it does nothing.
Under pytest-xdist it runs in the controller only, before the first worker starts and after the
last one stops: a worker sees the others' tests half done.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

_BEFORE = pytest.StashKey[dict[str, str] | None]()


def checkout_state(root: Path) -> dict[str, str] | None:
    """Each `git status --porcelain` line of `root` -> a hash of its file; None outside git."""
    try:
        done = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    state = {}
    for line in done.stdout.splitlines():
        path = root / line[3:].split(" -> ")[-1].strip('"')
        state[line] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "-"
    return state


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionstart(session: pytest.Session) -> None:
    if _is_xdist_worker(session.config):
        return
    session.config.stash[_BEFORE] = checkout_state(session.config.rootpath)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    after = checkout_state(session.config.rootpath) or {}
    dirty = sorted(line for line, digest in after.items() if before.get(line) != digest)
    if not dirty:
        return
    message = "the tests left the checkout dirty (git status --porcelain):\n" + "\n".join(
        f"  {line}" for line in dirty
    )
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(message, red=True)
    else:
        print(message)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
