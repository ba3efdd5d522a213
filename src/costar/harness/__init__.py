"""Harness: runs scenarios x trials against the agent into traces; resume after interruption."""

from costar.harness._llm_misses import replay_misses
from costar.harness._replay import ReplayConfig, ReplayMiss, Substitute
from costar.harness._run import DRAFTS_PARAM, RunConfig, RunSummary, run_suite
from costar.harness._trial import TrialOptions, run_trial
from costar.harness._version import agent_version, files_hash, git_commit

__all__ = [
    "DRAFTS_PARAM",
    "ReplayConfig",
    "ReplayMiss",
    "RunConfig",
    "RunSummary",
    "Substitute",
    "TrialOptions",
    "agent_version",
    "files_hash",
    "git_commit",
    "run_suite",
    "replay_misses",
    "run_trial",
]
