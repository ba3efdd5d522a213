"""Helpers shared by the benchmarks: quiet dependencies, peak RSS, the closing JSON line."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys

from costar._env import quiet_dependencies  # noqa: E402

quiet_dependencies()


def quick() -> bool:
    """True with --quick: a smaller size that ends within a minute."""
    return "--quick" in sys.argv


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def machine() -> str:
    return f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}"


def finish(figures: dict[str, object]) -> None:
    """Print the closing line of JSON every benchmark ends with."""
    print(json.dumps(figures))
