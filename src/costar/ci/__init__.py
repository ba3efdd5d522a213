"""CI: the steps composed. `ci` runs the suite, assesses the run and gates it against a
baseline in one step; `rerun_config` turns the scenarios a run failed into a new run's config.

This package sits above harness, assess and gate (it runs the agent again), so the gate itself
works on stored runs alone.
"""

from costar.ci._rerun import rerun_config
from costar.ci._run import CiResult, ci

__all__ = ["CiResult", "ci", "rerun_config"]
