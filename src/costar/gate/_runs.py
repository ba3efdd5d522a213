"""Which runs may be compared: the same suite, and the scenarios the policy asks both to share.

A run made by `costar run` records its suite: the folder (the `costar.suite` tag, relative to
the project root; runs made before that tag existed give the absolute folder of their `suite`
parameter) and its tag and scenario filters (parameters). Imported runs name no suite of their
own, so they are compared by their scenarios alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costar._exceptions import NotFoundError
from costar.gate._policy import GatePolicy
from costar.judges import Verdict
from costar.traces import DRAFTS_PARAM, SUITE_TAG, suite_label

SHOWN = 8  # scenario names listed in a message before "and N more"


@dataclass(frozen=True)
class SuiteId:
    """What a run ran: the suite folder and its filters."""

    path: str  # as recorded: absolute, from the run's `suite` parameter
    relative: str | None  # the `costar.suite` tag, when recorded
    tags: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()

    def same(self, other: SuiteId) -> bool:
        if (self.tags, self.scenarios) != (other.tags, other.scenarios):
            return False
        if self.relative is not None and other.relative is not None:
            return self.relative == other.relative
        return self.path == other.path

    def __str__(self) -> str:
        text = self.relative or self.path
        if self.tags:
            text += f" (tags {', '.join(self.tags)})"
        if self.scenarios:
            text += f" (scenarios {', '.join(self.scenarios)})"
        return text


def _listed(raw: str | None) -> tuple[str, ...]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return ()
    return tuple(sorted(str(v) for v in value)) if isinstance(value, list) else ()


def suite_of(run: Any) -> SuiteId | None:
    """The suite a stored run (a RunInfo) ran; None when it names none (imported runs)."""
    if run.tags.get("costar.imported") or "suite" not in run.params:
        return None
    return SuiteId(
        path=run.params["suite"],
        relative=run.tags.get(SUITE_TAG),
        tags=_listed(run.params.get("tags")),
        scenarios=_listed(run.params.get("scenarios")),
    )


def draft_scenarios(run: Any) -> set[str]:
    """The draft scenarios a stored run (a RunInfo) ran with `--include-drafts`: never gated."""
    return set(_listed(run.params.get(DRAFTS_PARAM)))


def planned_suite(suite: Path, root: Path, tags: list[str], scenarios: list[str]) -> SuiteId:
    """The SuiteId a run about to start with these settings will record."""
    return SuiteId(
        str(suite), suite_label(suite, root), tuple(sorted(tags)), tuple(sorted(scenarios))
    )


def previous_run(runs: list[Any], suite: SuiteId) -> Any:
    """The newest finished run of `suite` among `runs` (newest first)."""
    for run in runs:
        found = suite_of(run)
        if run.status == "FINISHED" and found is not None and found.same(suite):
            return run
    raise NotFoundError(
        f"no earlier finished run of the suite {suite} to compare with; run `costar ci` "
        "without --baseline once, or name a baseline run id"
    )


def _names(ids: set[str]) -> str:
    ordered = sorted(ids)
    more = f" and {len(ordered) - SHOWN} more" if len(ordered) > SHOWN else ""
    return ", ".join(ordered[:SHOWN]) + more


def incomparable(
    baseline: list[Verdict],
    candidate: list[Verdict],
    policy: GatePolicy,
    runs: tuple[Any, Any] | None = None,
) -> str | None:
    """Why the two runs cannot be compared under the policy; None when they can."""
    reasons = []
    if runs is not None and policy.same_suite:
        base_suite, cand_suite = suite_of(runs[0]), suite_of(runs[1])
        if base_suite and cand_suite and not base_suite.same(cand_suite):
            reasons.append(
                f"the runs are of different suites: the baseline ran {base_suite}, the "
                f"candidate ran {cand_suite} (compare runs of one suite, or set "
                "same_suite: false in the policy)"
            )
    base = {v.scenario_id for v in baseline}
    cand = {v.scenario_id for v in candidate}
    shared = base & cand
    needed = policy.min_shared_scenarios or len(base)
    if not shared:
        reasons.append(
            f"the runs share no scenario (baseline: {_names(base) or 'none'}; candidate: "
            f"{_names(cand) or 'none'}), so nothing can be compared"
        )
    elif len(shared) < needed:
        sides = []
        if base - cand:
            sides.append(f"missing in the candidate: {_names(base - cand)}")
        if cand - base:
            sides.append(f"missing in the baseline: {_names(cand - base)}")
        asked = (
            f"at least {policy.min_shared_scenarios}"
            if policy.min_shared_scenarios
            else "all of the baseline's"
        )
        reasons.append(
            f"the runs share {len(shared)} of the baseline's {len(base)} scenarios and the "
            f"policy asks for {asked} ({'; '.join(sides)})"
        )
    return "; ".join(reasons) or None
