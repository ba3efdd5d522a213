"""The few git operations the agent loop needs: worktrees on branches, diffs, commits."""

from __future__ import annotations

import subprocess
from pathlib import Path

from costar._exceptions import ConfigError, RefineError

_IDENTITY = ["-c", "user.name=costar refine", "-c", "user.email=costar-refine@localhost"]


class GitError(RefineError):
    """A git command failed."""


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run git in `cwd`; its stdout, or GitError with its stderr."""
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    except FileNotFoundError as exc:
        raise ConfigError("costar refine needs git on PATH") from exc
    if check and done.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])} failed in {cwd}: {done.stderr.strip()[:500]}")
    return done.stdout


def repo_root(path: Path) -> Path:
    """The top of the git repository holding `path`; a clear error when there is none."""
    try:
        return Path(git(path, "rev-parse", "--show-toplevel").strip())
    except GitError as exc:
        raise ConfigError(
            f"{path} is not in a git repository: costar refine works on branches of the "
            "agent's repository (git init, commit, then run it again)"
        ) from exc


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def dirty(repo: Path, paths: list[str]) -> list[str]:
    """Which of these paths (relative to the repo) have uncommitted changes."""
    if not paths:
        return []
    out = git(repo, "status", "--porcelain", "--", *paths)
    return [line[3:] for line in out.splitlines() if line.strip()]


def add_worktree(repo: Path, where: Path, branch: str, base: str) -> None:
    git(repo, "worktree", "add", "-q", "-b", branch, str(where), base)


def remove_worktree(repo: Path, where: Path, branch: str | None) -> None:
    """Remove the worktree, and its branch when `branch` is given (the rejected ones)."""
    git(repo, "worktree", "remove", "--force", str(where), check=False)
    git(repo, "worktree", "prune", check=False)
    if branch:
        git(repo, "branch", "-D", branch, check=False)


def changed(worktree: Path) -> list[str]:
    """Paths (relative to the repo) changed, added or deleted in the worktree."""
    out = git(worktree, "status", "--porcelain", "--untracked-files=all")
    paths = []
    for line in out.splitlines():
        path = line[3:]
        if " -> " in path:  # a rename: both sides changed
            paths += path.split(" -> ")
        else:
            paths.append(path)
    return [p.strip('"') for p in paths]


def restore(worktree: Path, base: str, paths: list[str]) -> None:
    """Put these paths back as they are at `base` (deleting those that did not exist)."""
    for path in paths:
        tracked = git(worktree, "ls-tree", "--name-only", base, "--", path).strip()
        if tracked:
            git(worktree, "checkout", base, "--", path)
        else:
            target = worktree / path
            if target.is_file() or target.is_symlink():
                target.unlink()


def diff(worktree: Path) -> str:
    """The worktree's uncommitted change, new files included."""
    git(worktree, "add", "-A")
    return git(worktree, "diff", "--cached", "--no-color")


def commit(worktree: Path, message: str) -> str:
    git(worktree, "add", "-A")
    git(worktree, *_IDENTITY, "commit", "-q", "-m", message)
    return head(worktree)
