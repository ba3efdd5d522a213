"""`costar run --only-failed RUN`: the run config narrowed to the scenarios that failed.

The gate says which scenarios failed (`costar.gate.failed_scenarios`); this builds the harness's
run config for them, so the gate never needs the harness.
"""

from __future__ import annotations

import fnmatch
from dataclasses import asdict

from costar._exceptions import UsageError
from costar.gate import FailedScenarios
from costar.harness import RunConfig
from costar.scenarios import load_suite


def rerun_config(config: RunConfig, failed: FailedScenarios) -> tuple[RunConfig, FailedScenarios]:
    """`config` narrowed to the failed scenarios (within any `--scenario` globs it has), and
    `failed` with the scenarios its suite no longer has. A UsageError when none is left."""
    ids = failed.ids
    if config.scenarios:
        ids = [i for i in ids if any(fnmatch.fnmatchcase(i, p) for p in config.scenarios)]
        if not ids:
            raise UsageError(
                f"none of the scenarios that failed in run {failed.run_id[:12]} "
                f"({', '.join(failed.ids[:10])}) matches --scenario {' '.join(config.scenarios)}"
            )
    try:
        present = set(
            load_suite(config.suite, config.tags or None, ids, config.allow_outside_fixtures).ids
        )
    except UsageError as exc:
        if "no scenario matches" not in str(exc):
            raise
        present = set()
    missing = [i for i in ids if i not in present]
    if not present:
        raise UsageError(
            f"{config.suite}: none of the scenarios that failed in run {failed.run_id[:12]} is "
            f"in the suite now ({', '.join(missing[:10])})"
        )
    narrowed = config.model_copy(
        update={"scenarios": sorted(present), "only_failed": failed.run_id}
    )
    return narrowed, FailedScenarios(**{**asdict(failed), "missing": missing})
