"""Debian's chromium for the browser tests: skipped locally without it, required under CI."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require_chromium() -> str:
    """The chromium binary; skips the module when absent, except under CI where it must exist."""
    if not CHROMIUM:
        if os.environ.get("CI"):
            raise RuntimeError("CI needs chromium for the browser tests (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)
    return CHROMIUM
