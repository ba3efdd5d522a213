"""Startup: `costar --help` wall time, and proof that it does not import mlflow.

Anchor, in the same run: `python -c "import mlflow"`, the cost the CLI avoids.
Usage: .venv/bin/python bench/startup.py [--quick]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, quick  # noqa: E402

REPEAT = 3 if quick() else 7
COSTAR = str(Path(sys.executable).parent / "costar")


def best_of(argv: list[str]) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    help_s = best_of([COSTAR, "--help"])
    probe = (
        "import sys\nfrom costar.cli import app\n"
        "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print('mlflow' in sys.modules)"
    )
    imports = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    imports_mlflow = imports.stdout.strip().splitlines()[-1] == "True"
    anchor = best_of([sys.executable, "-c", "import mlflow"])
    print(f"machine: {machine()}")
    print(f"costar --help: {help_s:.3f} s (best of {REPEAT}); imports mlflow: {imports_mlflow}")
    print(f"python -c 'import mlflow': {anchor:.3f} s")
    finish(
        {
            "bench": "startup",
            "help_seconds": round(help_s, 3),
            "imports_mlflow": imports_mlflow,
            "anchor_import_mlflow_seconds": round(anchor, 3),
            "ratio_vs_anchor": round(anchor / help_s, 1),
        }
    )


if __name__ == "__main__":
    main()
