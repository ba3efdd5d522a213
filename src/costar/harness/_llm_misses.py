"""After a run with `--llm-replay`: each request the recordings did not hold, placed by trial.

The proxy (costar.llm) knows which requests it could not answer and when; the run's stored
traces say which scenario, trial and turn was running then. Reading the store is the harness's
part, so the model interface stays a leaf.
"""

from __future__ import annotations

from typing import Any

from costar.llm import LLMProxy, describe_misses
from costar.traces import TraceStore


def replay_misses(proxy: LLMProxy | None, config: Any, run_id: str) -> list[str]:
    """After a replayed run: a line per request with no recording (none when all were found)."""
    if proxy is None or not proxy.misses:
        return []
    store = TraceStore(config.tracking_uri, config.experiment)
    rows = store.run_traces(run_id)
    views = store.views(r.trace_id for r in rows)
    return describe_misses(proxy.misses, views)
