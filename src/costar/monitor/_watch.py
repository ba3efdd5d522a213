"""Score new production traces with the project's judges, through a persisted cursor.

The cursor is a watermark (the newest trace timestamp processed) plus the ids of traces seen in
a lag window behind it, kept in a JSON file written atomically after each batch's verdicts are
stored. Each poll re-reads from `watermark - lag`, so a trace logged late (timestamps are request
start times) is not skipped, and skips the ids it has seen, so nothing is scored twice. An
unfinished trace holds the cursor back until it finishes, or for at most the lag (an agent
that died mid-request never finishes its trace; it is then scored as it is). A crash
between storing verdicts and saving the cursor re-scores that batch; verdicts are keyed by
(trace, judge, version), so the re-score replaces them and window counts stay exact.

Sampling is deterministic: a hash of the trace id (and the judge kind) decides, so every
process, restart and re-run picks the same traces. Code judges and metrics score every trace
by default; LLM and agentic judges a sample. Each verdict belongs to a window of trace time,
stored as the verdict's run id `monitor:NAME:WINDOW_START`, so per-window statistics are the
verdict store's ordinary per-run tallies.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from costar._exceptions import StoreError
from costar.assess import VerdictStore
from costar.assess import mirror_verdicts as _mirror
from costar.config import Settings, given_flags
from costar.judges import Judge, Verdict
from costar.traces import TraceInfo, TraceStore, TraceView

LLM_KINDS = ("llm", "agentic")


def sampled(trace_id: str, rate: float, salt: str = "") -> bool:
    """Whether a trace is in a deterministic sample of `rate` (the same answer everywhere)."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    digest = hashlib.sha256(f"{salt}:{trace_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < rate


def window_start(ts_ms: int, window_s: int) -> int:
    """The start (ms) of the window of `window_s` seconds that holds `ts_ms`."""
    return ts_ms // (window_s * 1000) * window_s * 1000


def window_run_id(name: str, start_ms: int) -> str:
    """The run id a monitoring window's verdicts are stored under."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ms / 1000))
    return f"monitor:{name}:{stamp}"


@dataclass
class Cursor:
    """Where monitoring stopped (see the module docstring)."""

    path: Path
    watermark_ms: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # trace id -> timestamp, in the lag window
    processed: int = 0

    @classmethod
    def load(cls, path: Path) -> Cursor:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, data["watermark_ms"], data.get("seen", {}), data.get("processed", 0))

    def save(self, lag_ms: int) -> None:
        floor = self.watermark_ms - lag_ms
        self.seen = {t: ts for t, ts in self.seen.items() if ts >= floor}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {"watermark_ms": self.watermark_ms, "seen": self.seen, "processed": self.processed}
            ),
            encoding="utf-8",
        )
        os.replace(tmp, self.path)  # atomic: a crash leaves the old cursor or the new one


@dataclass
class MonitorConfig:
    """What one `costar monitor` pass needs."""

    name: str
    store: TraceStore
    verdicts: VerdictStore
    judges: list[Judge]
    cursor_path: Path
    sample: float = 0.1  # LLM and agentic judges
    sample_checks: float = 1.0  # checks and metrics
    window_s: int = 3600
    lag_s: int = 300
    mirror: bool = True
    concurrency: int = 8
    limit: int | None = None  # traces per pass (None: all new ones)
    # traces fetched with spans and scored at once: memory stays bounded whatever the backlog
    batch: int = 200

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        name: str | None = None,
        judges: list[str] | None = None,
        **fields: Any,
    ) -> MonitorConfig:
        """The project's stores, judges (`judges`: only these names) and `monitor_batch`; the
        cursor is `.costar/monitor/NAME.json` (NAME default: the experiment). Then `fields`
        (the flags; None means the default)."""
        from costar.judges import load_judges

        label = name or settings.experiment
        given = given_flags(fields)
        return cls(
            name=label,
            store=TraceStore(settings.store_uri(), settings.experiment),
            verdicts=VerdictStore(settings.verdict_url(), settings.redact),
            judges=load_judges(settings.root, settings.judges, judges or None),
            cursor_path=settings.project().monitor_dir / f"{label}.json",
            **{"batch": settings.monitor_batch, **given},
        )


@dataclass
class PassResult:
    """What one monitoring pass did: traces and verdicts scored, judge errors, windows touched,
    seconds taken."""

    traces: int = 0
    verdicts: int = 0
    errors: int = 0
    windows: set[str] = field(default_factory=set)
    seconds: float = 0.0


def _new_infos(cfg: MonitorConfig, cursor: Cursor) -> Iterator[TraceInfo]:
    """Completed traces from `watermark - lag` on, oldest first, not yet seen."""
    since = max(0, cursor.watermark_ms - cfg.lag_s * 1000)
    stale_before = int(time.time() * 1000) - cfg.lag_s * 1000
    try:
        for info in cfg.store.search(since_ms=since, oldest_first=True):
            if info.trace_id in cursor.seen:
                continue
            if info.state == "IN_PROGRESS" and info.request_time_ms >= stale_before:
                return  # nothing past an unfinished trace: it is read again next pass
            yield info  # finished, or unfinished for longer than the lag: scored as it is
    except StoreError as exc:
        raise StoreError(f"cannot read production traces: {exc.__cause__ or exc}") from exc


def _score(cfg: MonitorConfig, views: list[TraceView], stamps: dict[str, int]) -> list[Verdict]:
    from concurrent.futures import ThreadPoolExecutor

    jobs = []
    for view in views:
        for judge in cfg.judges:
            rate = cfg.sample if judge.kind in LLM_KINDS else cfg.sample_checks
            if sampled(view.trace_id, rate, judge.kind):
                jobs.append((view, judge))
    fast = [(v, j) for v, j in jobs if j.kind not in LLM_KINDS]
    slow = [(v, j) for v, j in jobs if j.kind in LLM_KINDS]
    out = [j.score(v, None) for v, j in fast]
    if slow:
        with ThreadPoolExecutor(cfg.concurrency) as pool:
            out += pool.map(lambda vj: vj[1].score(vj[0], None), slow)
    for v in out:  # the verdict belongs to its trace's time window
        v.run_id = window_run_id(cfg.name, window_start(stamps[v.trace_id], cfg.window_s))
    return out


def monitor_pass(cfg: MonitorConfig, progress: Callable[[int], None] | None = None) -> PassResult:
    """Score every new trace once (or `cfg.limit` of them); see the module docstring."""
    started = time.monotonic()
    cursor = Cursor.load(cfg.cursor_path)
    result = PassResult()
    batch: list[TraceInfo] = []

    def flush() -> None:
        stamps = {i.trace_id: i.request_time_ms for i in batch}
        views = cfg.store.views([i.trace_id for i in batch])
        verdicts = cfg.verdicts.redacted(_score(cfg, views, stamps))  # mirrored as stored
        cfg.verdicts.write(verdicts)
        if cfg.mirror:
            _mirror(cfg.store, [v for v in verdicts if v.status != "skipped"])
        for info in batch:
            cursor.seen[info.trace_id] = stamps[info.trace_id]
            cursor.watermark_ms = max(cursor.watermark_ms, stamps[info.trace_id])
        cursor.processed += len(batch)
        cursor.save(cfg.lag_s * 1000)
        result.traces += len(batch)
        result.verdicts += len(verdicts)
        result.errors += sum(v.status == "error" for v in verdicts)
        result.windows.update(v.run_id for v in verdicts)
        if progress:
            progress(result.traces)
        batch.clear()

    for info in _new_infos(cfg, cursor):
        batch.append(info)
        if len(batch) >= max(1, cfg.batch):
            flush()
        if cfg.limit is not None and result.traces + len(batch) >= cfg.limit:
            break
    if batch:
        flush()
    result.seconds = round(time.monotonic() - started, 3)
    return result
