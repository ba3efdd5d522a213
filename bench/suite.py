"""The test suite's wall time: this commit's `make test` against an earlier commit's, side by side.

Both trees are fresh clones in temporary folders and run with this venv (the
anchor's dependencies are a subset of today's), each with the test command of its own Makefile:
the anchor (issue 15's day, 6794b98) ran pytest in one process, today's runs 3 xdist workers.
The anchor goes first, then this commit, one after the other on the same machine. `--quick` runs
only the modules both trees have that finish fast, so it shows the method, not the figure.

Usage: .venv/bin/python bench/suite.py [--quick] [--anchor COMMIT] [--jobs N]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
QUICK_MODULES = [
    "tests/assess/test_stats.py",
    "tests/judges/test_checks.py",
    "tests/scenarios/test_load.py",
    "tests/align/test_agreement.py",
]
COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected)")


def export(commit: str, into: Path) -> Path:
    """A fresh clone of this repository at `commit`, as CI would hold it."""
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(into)], check=True)
    subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "checkout", "-q", commit], cwd=into, check=True
    )
    return into


def run_suite(tree: Path, args: list[str]) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}  # the tree's code, not this checkout's
    env.pop("PYTEST_ADDOPTS", None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    last = (done.stdout.strip().splitlines() or [""])[-1]
    counts = {kind.rstrip("s"): int(n) for n, kind in COUNTS.findall(last)}
    if done.returncode not in (0, 1):
        sys.exit(f"bench/suite: pytest in {tree} exited {done.returncode}:\n{done.stdout[-3000:]}")
    return {"seconds": round(seconds, 1), "summary": last, **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--anchor", default="6794b98")
    parser.add_argument("--jobs", type=int, default=3, help="today's xdist workers (make test)")
    opts = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="costar-suite-") as tmp:
        anchor = export(opts.anchor, Path(tmp) / "anchor")
        now = export("HEAD", Path(tmp) / "now")
        select = QUICK_MODULES if quick() else []
        before = run_suite(anchor, select)
        after = run_suite(now, [*select, "-n", str(opts.jobs), "--dist", "loadgroup"])
    load_after = os.getloadavg()[0]
    ratio = after["seconds"] / before["seconds"]  # type: ignore[operator]
    print(f"machine: {machine()}; load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"anchor {opts.anchor} (one process): {before['summary']}, {before['seconds']} s")
    print(f"HEAD (-n {opts.jobs} --dist loadgroup): {after['summary']}, {after['seconds']} s")
    print(f"HEAD / anchor wall time: {ratio:.2f} (issue 15 asks for 0.60 or less)")
    finish(
        {
            "bench": "suite",
            "quick": quick(),
            "anchor": opts.anchor,
            "anchor_seconds": before["seconds"],
            "anchor_passed": before.get("passed", 0),
            "anchor_failed": before.get("failed", 0),
            "now_seconds": after["seconds"],
            "now_passed": after.get("passed", 0),
            "now_failed": after.get("failed", 0),
            "ratio_to_anchor": round(ratio, 3),
            "target_ratio": 0.6,
            "load_before": round(load_before, 1),
            "load_after": round(load_after, 1),
        }
    )


if __name__ == "__main__":
    main()
