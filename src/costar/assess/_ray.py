"""`costar assess --executor ray`: judges over stored traces in chunks, one Ray task a chunk.

Each task reads its traces from the MLflow store, scores them with the project's judges (loaded
once per worker from the same files, so their versions are the driver's) and writes the
verdicts into the shared verdict store itself; it returns them so the driver can count them.
A chunk whose worker dies is run again by Ray; verdicts are upserts keyed by (trace, judge,
judge version), so a chunk written twice leaves one verdict each.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from costar.judges import Judge, Verdict, load_judges

CHUNK = 100  # traces a task scores
_judges: dict[tuple[str, tuple[str, ...]], list[Judge]] = {}  # per worker process


def _score_chunk(
    config: Any,
    todo: dict[str, list[str]],
    scenarios: dict[str, Any],
    keys: dict[tuple[str, str], str],
    verdict_url: str,
) -> list[Verdict]:
    """Runs on a worker: the due judges ({trace id: judge names}) over these traces."""
    from costar.assess._engine import _score
    from costar.assess._verdicts import VerdictStore
    from costar.traces import TraceStore

    cache_key = (str(config.root), tuple(config.judge_paths))
    if cache_key not in _judges:
        _judges[cache_key] = load_judges(config.root, config.judge_paths)
    by_name = {j.name: j for j in _judges[cache_key]}
    store = TraceStore(config.tracking_uri, config.experiment)
    views = store.views(todo)
    items = [(v, by_name[name]) for v in views for name in todo[v.trace_id] if name in by_name]
    results = _score(items, scenarios, keys, config.concurrency)
    verdicts = VerdictStore(verdict_url, config.redact)
    try:
        verdicts.write(results)
    finally:
        verdicts.close()
    return results


def score_on_ray(
    config: Any,
    due: dict[str, list[Judge]],
    scenarios: dict[str, Any],
    keys: dict[tuple[str, str], str],
    verdict_url: str,
) -> Iterator[list[Verdict]]:
    """Yields each chunk's verdicts (already in the verdict store) as its task finishes."""
    from costar._ray import MAX_RETRIES, connect, disconnect, import_ray, worker_env
    from costar.llm import share_rate_limits

    ray = import_ray(config.address)
    env = worker_env()
    started = connect(config.address, config.concurrency, env)
    if started:  # one set of rate-limit buckets for every worker of this job
        share_rate_limits(env)
    try:
        task = ray.remote(num_cpus=1, max_retries=MAX_RETRIES)(_score_chunk)
        config_ref, scen_ref, keys_ref = ray.put(config), ray.put(scenarios), ray.put(keys)
        ids = list(due)
        pending = [
            task.remote(
                config_ref,
                {i: [j.name for j in due[i]] for i in ids[start : start + CHUNK]},
                scen_ref,
                keys_ref,
                verdict_url,
            )
            for start in range(0, len(ids), CHUNK)
        ]
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            yield from ray.get(ready)
    finally:
        if started:
            disconnect()
