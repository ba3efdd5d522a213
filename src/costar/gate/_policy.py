"""The gate policy: what a candidate run must show to ship. A YAML file, versioned.

```yaml
version: 1
judges: [expected-tool-calls, final-state, follows-guidelines]   # default: every pass/fail judge
min_pass_rate: {"*": 0.8, final-state: 1.0}   # candidate pass rate per judge ("*": the rest)
no_regression: true                           # no significant paired regression ...
alpha: 0.05                                   # ... at this family-wise level (all judges)
effect: 0.15                                  # to pass, a drop this large must be ruled out
on_inconclusive: warn                         # pass | warn | fail when the data cannot tell
min_shared_scenarios: null                    # default: every scenario of the baseline
same_suite: true                              # runs of different suites do not compare
metric_increase: {"metric:total_tokens": 0.2} # median may grow at most 20%
max_error_rate: 0.1                           # judge errors tolerated per judge
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from costar._exceptions import InputError
from costar._input import clip, load_yaml


class GatePolicy(BaseModel):
    """When a candidate may ship."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    judges: list[str] | None = Field(None, description="Judges that gate; default all pass/fail.")
    min_pass_rate: dict[str, float] = Field(
        default_factory=dict, description="Minimum candidate pass rate per judge; '*' for all."
    )
    no_regression: bool = Field(True, description="Fail on a significant paired regression.")
    alpha: float = Field(
        0.05, gt=0, lt=1, description="False-alarm level of the whole gate (Holm over judges)."
    )
    effect: float = Field(
        0.15, gt=0, le=1, description="Drop in pass rate a judge must rule out to pass."
    )
    power: float = Field(
        0.8, gt=0, lt=1, description="Power the trials advice for an inconclusive judge aims at."
    )
    on_inconclusive: Literal["pass", "warn", "fail"] = Field(
        "warn", description="What a judge the data cannot decide does to the gate."
    )
    min_shared_scenarios: int | None = Field(
        None, ge=1, description="Scenarios both runs must share; default all of the baseline's."
    )
    same_suite: bool = Field(True, description="Runs of different suites do not compare.")
    metric_increase: dict[str, float] = Field(
        default_factory=dict, description="Largest relative increase of a metric's median."
    )
    max_error_rate: float = Field(0.1, ge=0, le=1, description="Judge error rate tolerated.")


def load_policy(path: Path | None) -> GatePolicy:
    """The policy in `path`, or the defaults."""
    if path is None:
        return GatePolicy()
    doc = load_yaml(path)
    try:
        return GatePolicy.model_validate(doc.data or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        line = doc.pos(*err["loc"], default=doc.pos())[0]
        raise InputError(
            f"{path}:{line}: '{clip(where, 60)}': {clip(err['msg'], 120)} "
            "(see `costar gate --help`)"
        ) from exc
