"""The test suite's wall time: this commit's `make test` against an earlier commit's, side by side.

Both trees are fresh clones in temporary folders and run with this venv (the
anchor's dependencies are a subset of today's), each with the test command of its own Makefile:
the anchor (issue 15's day, 6794b98) ran pytest in one process, today's runs 3 xdist workers.
Three runs, one after the other on the same machine: the anchor's whole suite; today's tree
running the anchor's tests only (each found by its id; RENAMED names the few renamed since, and a
parametrised test whose parameter ids changed runs with all of today's parameters), which is the
figure for the same tests; and today's whole suite, which holds the tests later issues added.
`--quick` runs only the modules both trees have that finish fast, so it shows the method, not
the figure.

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
# an anchor test's function -> today's: the same check under a clearer name
RENAMED = {
    "test_a_bad_label_file_names_every_bad_line": (
        "test_a_bad_label_file_names_every_bad_line_in_one_line"
    ),
    "test_trials_needed_matches_simulated_power_of_the_permutation_test": (
        "test_trials_needed_matches_simulated_power_of_the_exact_test"
    ),
    "test_a_drop_too_small_to_test_fails_closed": (
        "test_a_drop_too_small_to_tell_is_inconclusive_and_the_policy_decides"
    ),
}
COUNTS = re.compile(r"(\d+) (passed|failed|skipped|errors?|deselected)")


def export(commit: str, into: Path) -> Path:
    """A fresh clone of this repository at `commit`, as CI would hold it."""
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(into)], check=True)
    subprocess.run(
        ["git", "-c", "advice.detachedHead=false", "checkout", "-q", commit], cwd=into, check=True
    )
    return into


def _env(tree: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}  # the tree's code, not this checkout's
    env.pop("PYTEST_ADDOPTS", None)
    return env


def collect(tree: Path, args: list[str]) -> list[str]:
    """The ids of the tests pytest would run in `tree`."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=tree, env=_env(tree), capture_output=True, text=True,
    )  # fmt: skip
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    if done.returncode != 0 or not ids:
        sys.exit(
            f"bench/suite: collecting in {tree} exited {done.returncode}:\n{done.stdout[-3000:]}"
        )
    return ids


def same_tests(anchor_ids: list[str], now_ids: list[str]) -> tuple[list[str], list[str]]:
    """Today's ids for the anchor's tests, and the anchor's tests today's tree lacks."""
    now = set(now_ids)
    functions = {i.split("[")[0] for i in now_ids}
    found: list[str] = []
    lost: list[str] = []
    for test in anchor_ids:
        module, _, function = test.partition("::")
        if function in RENAMED:
            test = f"{module}::{RENAMED[function]}"
        if test in now:
            found.append(test)
        elif test.split("[")[0] in functions:  # a parameter's id changed with its message
            found.append(test.split("[")[0])
        else:
            lost.append(test)
    return sorted(set(found)), lost


def run_suite(tree: Path, args: list[str]) -> dict[str, object]:
    env = _env(tree)
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
    failed = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("FAILED ")]
    return {"seconds": round(seconds, 1), "summary": last, "failed_ids": failed, **counts}


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
        workers = ["-n", str(opts.jobs), "--dist", "loadgroup"]
        chosen, lost = same_tests(collect(anchor, select), collect(now, select))
        before = run_suite(anchor, select)
        same = run_suite(now, [*chosen, *workers])
        after = run_suite(now, [*select, *workers])
    load_after = os.getloadavg()[0]
    ratio_same = same["seconds"] / before["seconds"]  # type: ignore[operator]
    ratio = after["seconds"] / before["seconds"]  # type: ignore[operator]
    print(f"machine: {machine()}; load average {load_before:.1f} before, {load_after:.1f} after")
    print(f"anchor {opts.anchor} (one process): {before['summary']}, {before['seconds']} s")
    print(f"HEAD, the anchor's tests (-n {opts.jobs}): {same['summary']}, {same['seconds']} s")
    print(f"HEAD, every test (-n {opts.jobs}): {after['summary']}, {after['seconds']} s")
    for name, result in (("anchor", before), ("HEAD, the anchor's tests", same), ("HEAD", after)):
        for test in result["failed_ids"]:  # type: ignore[attr-defined]
            print(f"failed in {name}: {test}")
    print(f"anchor tests missing from HEAD: {len(lost)}" + "".join(f"\n  {t}" for t in lost))
    print(f"the anchor's tests, HEAD / anchor wall time: {ratio_same:.2f} (issue 15: 0.60 or less)")
    print(f"every test, HEAD / anchor wall time: {ratio:.2f}")
    finish(
        {
            "bench": "suite",
            "quick": quick(),
            "anchor": opts.anchor,
            "anchor_seconds": before["seconds"],
            "anchor_passed": before.get("passed", 0),
            "anchor_failed": before.get("failed", 0),
            "anchor_tests_lost": len(lost),
            "same_tests_seconds": same["seconds"],
            "same_tests_passed": same.get("passed", 0),
            "same_tests_failed": same.get("failed", 0),
            "same_tests_ratio_to_anchor": round(ratio_same, 3),
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
