"""Production monitoring: `costar monitor` scoring a backlog of production traces.

10,000 production traces (--quick: 1,000) of 8 spans (3 tool calls, 2 LLM calls with token
usage), spread over three hours of trace time, in a SQLite MLflow store. Judges: the default
checks and metrics plus a `polite` check on every trace, and an LLM judge (`guidelines`) on a
10% sample, answered by the scripted fake LLM on 127.0.0.1. One monitor pass reads, scores and
stores verdicts for all of them, streaming in batches of 200.

Figures: traces per second (reading, scoring, storing verdicts and the per-window alerting
that follows a pass); peak RSS; RSS after a quarter of the traces and at the end
(flat memory: the growth between them); and, measured separately on 200 traces, what writing
the verdicts onto the traces as MLflow Feedback (the default) adds per verdict.

Usage: .venv/bin/python bench/monitor.py [--quick]
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import finish, machine, peak_rss_mb, quick  # noqa: E402

N = 1_000 if quick() else 10_000
MIRROR_N = 200
HOUR_NS = 3600 * 10**9
BASE_NS = 1_790_000_000 * 10**9 // HOUR_NS * HOUR_NS
POLITE = """
import costar

@costar.judge(name="polite", kind="check")
def polite(view, scenario):
    return "thank" in str(view.output or "").lower()
"""
TONE = """
judges:
  - name: tone
    use: guidelines
    params: {guidelines: ["Replies politely"], model: openai:/judge-model}
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def trace(run_id: str, i: int, spacing_ns: int):
    from costar.traces import SpanRecord, TrialRecord, Turn, new_span_id

    t0 = BASE_NS + i * spacing_ns
    root = new_span_id()
    spans = []
    for j in range(5):
        llm = j in (1, 3)
        spans.append(
            SpanRecord(
                name="chat" if llm else ("lookup_order", "read_policy", "issue_refund")[j // 2],
                span_type="CHAT_MODEL" if llm else "TOOL",
                inputs={"order_id": 1000 + i % 50, "q": "where is my order?"},
                outputs={"status": "delivered", "note": "x" * 120},
                attributes={
                    "mlflow.chat.tokenUsage": {"input_tokens": 900 + i % 200, "output_tokens": 40}
                }
                if llm
                else {},
                start_ns=t0 + j * 10**6,
                end_ns=t0 + j * 10**6 + 500_000,
                parent_id=root,
            )
        )
    reply = "It ships today, thank you!" if i % 10 else "It ships today."
    return TrialRecord(
        run_id=run_id,
        scenario_id="",
        trial=i,
        status="ok",
        turns=[Turn(user=f"where is my order {i}?", reply=reply)],
        start_ns=t0,
        end_ns=t0 + 10 * 10**6,
        spans=spans,
        root_span_id=root,
    )


def main() -> None:
    from costar.assess import VerdictStore
    from costar.judges import load_judges
    from costar.llm import FakeLLM, close_clients
    from costar.monitor import AlertPolicy, MonitorConfig, alerts_for, monitor_pass
    from costar.traces import TraceStore

    folder = Path(tempfile.mkdtemp(prefix="costar-bench-monitor-"))
    try:
        (folder / "judges").mkdir()
        (folder / "judges" / "polite.py").write_text(POLITE)
        (folder / "judges" / "tone.yaml").write_text(TONE)
        store = TraceStore(f"sqlite:///{folder / 'prod.db'}", "production")
        run_id = store.create_run("production", {}, {"costar.kind": "production"})
        spacing = 3 * HOUR_NS // N  # three hours of traffic, whatever N
        started = time.perf_counter()
        for start in range(0, N, 500):
            store.write([trace(run_id, i, spacing) for i in range(start, min(N, start + 500))])
        print(f"wrote {N} production traces in {time.perf_counter() - started:.1f} s", flush=True)

        script = {
            "rules": [
                {
                    "when": {"system": "costar's judge"},
                    "reply": {"json": {"passed": True, "rationale": "polite"}},
                }
            ]
        }
        with FakeLLM(script) as fake:
            import os

            os.environ.update(fake.env("openai:/judge-model"))
            judges = load_judges(folder, ["judges"])
            verdicts = VerdictStore(folder / "verdicts.db")

            def config(name: str, mirror: bool, limit: int | None = None) -> MonitorConfig:
                return MonitorConfig(
                    name=name,
                    store=store,
                    verdicts=verdicts,
                    judges=judges,
                    cursor_path=folder / f"{name}.json",
                    sample=0.1,
                    mirror=mirror,
                    limit=limit,
                )

            samples: dict[int, float] = {}
            rss_start = rss_mb()
            started = time.perf_counter()
            result = monitor_pass(
                config("prod", mirror=False), progress=lambda n: samples.setdefault(n, rss_mb())
            )
            found, _ = alerts_for(verdicts, "prod", result.windows, AlertPolicy())
            seconds = time.perf_counter() - started  # reading, scoring, storing and alerting
            rss_after_alerts = rss_mb()
            quarter = min(samples, key=lambda n: abs(n - N // 4))
            llm = sum(
                1
                for r in verdicts.run_ids("monitor:prod:")
                for v in verdicts.for_run(r)
                if v.judge == "tone" and v.status == "ok"
            )

            started = time.perf_counter()
            plain = monitor_pass(config("plain", mirror=False, limit=MIRROR_N))
            plain_s = time.perf_counter() - started
            started = time.perf_counter()
            mirrored = monitor_pass(config("mirrored", mirror=True, limit=MIRROR_N))
            mirror_s = time.perf_counter() - started
            close_clients()
        figures = {
            "bench": "monitor",
            "traces": result.traces,
            "verdicts": result.verdicts,
            "llm_verdicts": llm,
            "judge_errors": result.errors,
            "traces_per_s": round(result.traces / seconds, 1),
            "peak_rss_mb": peak_rss_mb(),
            "rss_start_mb": rss_start,
            "rss_at_quarter_mb": samples[quarter],
            "rss_end_mb": samples[max(samples)],
            "rss_growth_mb": round(samples[max(samples)] - samples[quarter], 1),
            "rss_after_alerting_mb": rss_after_alerts,
            "alerts": len(found),
            "mirror_ms_per_verdict": round(
                (mirror_s - plain_s) * 1000 / max(1, mirrored.verdicts), 2
            ),
            "machine": machine(),
        }
        assert plain.traces == mirrored.traces == MIRROR_N
        finish(figures)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
