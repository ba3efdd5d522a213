"""Judge errors against the project's tolerance: what makes `costar assess` exit 1.

A judge error is never a pass or a fail, so a run whose judges errored has not been judged. By
default any error fails the command; `max_error_rate` in costar.toml tolerates a share per judge.
"""

from __future__ import annotations

from dataclasses import dataclass

from costar.assess._engine import AssessSummary
from costar.assess._stats import wilson


@dataclass(frozen=True)
class JudgeErrors:
    """One judge whose error rate is above the tolerated rate."""

    judge: str
    errors: int
    verdicts: int

    @property
    def rate(self) -> float:
        return self.errors / self.verdicts if self.verdicts else 0.0

    def describe(self) -> str:
        low, high = wilson(self.errors, self.verdicts)
        return (
            f"{self.judge}: {self.errors} of {self.verdicts} ({self.rate:.0%}, 95% CI "
            f"{low:.0%}-{high:.0%})"
        )


def error_breaches(summary: AssessSummary, max_error_rate: float) -> list[JudgeErrors]:
    """Judges whose share of error verdicts is above `max_error_rate` (0: any error)."""
    out = []
    for name, tally in sorted(summary.per_judge.items()):
        total = tally.passed + tally.failed + tally.error + tally.skipped
        found = JudgeErrors(name, tally.error, total)
        if found.errors and found.rate > max_error_rate:
            out.append(found)
    return out


def breach_message(summary: AssessSummary, breaches: list[JudgeErrors], max_rate: float) -> str:
    """One line: how many judge errors, which judges, where to see them, how to allow them."""
    errors = sum(b.errors for b in breaches)
    runs = summary.runs
    where = (
        f"costar verdicts {runs[0][:12]} --failed"
        if len(runs) == 1
        else f"costar verdicts RUN_ID --failed (for each of the {len(runs)} runs)"
    )
    return (
        f"{errors} judge error{'s' if errors != 1 else ''} above max_error_rate "
        f"{max_rate:.0%} (costar.toml): {'; '.join(b.describe() for b in breaches)}; see them "
        f"with `{where}`; pass --allow-errors to exit 0 anyway"
    )
