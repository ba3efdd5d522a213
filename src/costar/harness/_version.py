"""The agent version recorded with every trace: git commit plus a hash of the agent's files."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def git_commit(root: Path) -> str | None:
    """HEAD of the git repository holding `root`, with '+dirty' for uncommitted changes."""
    try:
        head = _git(root, "rev-parse", "--short=12", "HEAD")
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head


def files_hash(root: Path, patterns: list[str], extra: list[Path] | None = None) -> str | None:
    """A short sha256 over the files matching `patterns` under `root` (names and contents)."""
    paths = {p for pattern in patterns for p in root.glob(pattern) if p.is_file()}
    paths.update(p for p in (extra or []) if p.is_file())
    if not paths:
        return None
    digest = hashlib.sha256()
    for path in sorted(paths):
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def agent_version(root: Path, patterns: list[str], extra: list[Path] | None = None) -> str:
    """`git:<commit>` and/or `files:<hash>`, joined by a space; 'unknown' when neither exists."""
    parts = []
    if commit := git_commit(root):
        parts.append(f"git:{commit}")
    if digest := files_hash(root, patterns, extra):
        parts.append(f"files:{digest}")
    return " ".join(parts) or "unknown"
