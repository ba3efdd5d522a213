"""The demo and the test suite leave the checkout as they found it (`git status --porcelain`).

What is checked: the shop half of `make demo` (`costar run`, `costar assess --last`, in process)
in a copy of the example as git tracks it, with the checkout's .gitignore, writes nothing git
would show and nothing ignored outside the example's `.costar/` (and `__pycache__/`); and the
plugin tests/_clean_checkout.py, which fails any pytest run that leaves the checkout dirty,
catches a test that writes a file. Not checked here: the support half of the demo (an LLM
agent, refine and coverage; minutes long), which writes under its own `.costar/` too.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from _helpers import run_cli

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parent.parent


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_shop_demo_leaves_a_clean_checkout(tmp_path: Path, template_db: Path) -> None:
    repo = tmp_path / "checkout"
    repo.mkdir()
    for rel in git(ROOT, "ls-files", ".gitignore", "examples/shop").splitlines():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / rel, repo / rel)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "the example as tracked")
    shop = repo / "examples" / "shop"
    # the migrated store a first run would create (creating one costs seconds of migrations)
    (shop / ".costar").mkdir()
    shutil.copyfile(template_db, shop / ".costar" / "mlflow.db")

    ran = run_cli(shop, "run", "--trials", "1")  # the demo runs 2; the files written are alike
    assert ran.returncode == 0, ran.stderr
    assessed = run_cli(shop, "assess", "--last")
    assert assessed.returncode in (0, 1), assessed.stderr  # 1: judges found failures

    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    ignored = git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all")
    outside = [
        line
        for line in ignored.splitlines()
        if not line.startswith("!! examples/shop/.costar/") and "__pycache__/" not in line
    ]
    assert outside == [], outside
    assert "!! examples/shop/.costar/mlflow.db" in ignored.splitlines()


def test_a_test_that_dirties_the_checkout_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_writes="import pathlib\n\n\ndef test_writes():\n"
        "    pathlib.Path('left-behind.txt').write_text('x')\n",
        test_clean="def test_clean(tmp_path):\n    (tmp_path / 'fine.txt').write_text('x')\n",
    )
    git(pytester.path, "init", "-q")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "tests")

    clean = pytester.runpytest_inprocess("-p", "_clean_checkout", "test_clean.py")
    assert clean.ret == 0
    dirty = pytester.runpytest_inprocess("-p", "_clean_checkout", "test_writes.py")
    dirty.assert_outcomes(passed=1)
    assert dirty.ret == pytest.ExitCode.TESTS_FAILED
    dirty.stdout.fnmatch_lines(["*left the checkout dirty*", "*?? left-behind.txt*"])


def test_under_xdist_the_controller_sees_what_any_worker_left(pytester: pytest.Pytester) -> None:
    # xdist's workers are processes of their own: they load the plugin from the project's conftest
    shutil.copyfile(
        Path(__file__).parent / "_clean_checkout.py", pytester.path / "_clean_checkout.py"
    )
    pytester.makeconftest('pytest_plugins = ["_clean_checkout"]\n')
    pytester.makepyfile(
        test_writes="import pathlib\n\n\ndef test_writes():\n"
        "    pathlib.Path('left-behind.txt').write_text('x')\n",
        test_clean="def test_clean(tmp_path):\n    (tmp_path / 'fine.txt').write_text('x')\n"
        "\n\ndef test_also_clean():\n    pass\n",
    )
    git(pytester.path, "init", "-q")
    git(pytester.path, "add", "-A")
    git(pytester.path, "commit", "-q", "-m", "tests")

    clean = pytester.runpytest_inprocess("-n", "2", "test_clean.py")
    assert clean.ret == 0
    dirty = pytester.runpytest_inprocess("-n", "2")
    dirty.assert_outcomes(passed=3)
    assert dirty.ret == pytest.ExitCode.TESTS_FAILED
    # once, from the controller, not once per worker
    assert dirty.stdout.str().count("left the checkout dirty") == 1
    dirty.stdout.fnmatch_lines(["*?? left-behind.txt*"])
