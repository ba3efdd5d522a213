"""Tool replay: a trial is served the recorded results of the matching trial of an earlier run.

`costar run --replay RUN` loads RUN's traces. Each new trial is matched to RUN's trial of the
same scenario and trial number (else the scenario's first recorded trial), and each of its calls
to a recorded step by (tool, arguments as canonical JSON, occurrence): the second
`lookup_order {"order_id": 7}` gets the second recorded answer. A served call does not run;
its span carries `costar.replayed` and `costar.replay.source` (`TRACE_ID#STEP`). A recorded
error is raised again (a built-in exception type by its recorded name, else ReplayedToolError).

Where calls are served:
- Python agents: tools decorated with `costar.tool`, in process; with `models` (what the
  counterfactual check of `costar explain --verify` uses), also model calls made through
  `costar.llm`, matched by position.
- Command agents (any language): `COSTAR_REPLAY_URL` names an HTTP endpoint on 127.0.0.1. POST
  `{"name": TOOL, "args": {...}}` before calling a tool; the answer is
  `{"replayed": true, "result": ..., "error": null}` (use it instead of calling) or
  `{"replayed": false}` (call the tool); a strict miss answers HTTP 409 with an `error`. Report
  the call as usual through the events protocol; costar marks the served ones.

`tools` limits replay to those tool names; `until_step K` serves only recorded steps 1..K
(numbered as `costar.traces.trace_steps` numbers them) and lets later calls run live. A call
with no recording runs live, or with `strict` fails with ReplayMiss (recorded in its span and
the trial's error). `substitutions` (step number -> result) serve a corrected result instead of
the recorded one: the counterfactual check.
"""

from __future__ import annotations

import builtins
import json
import secrets
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel, Field

import costar._protocol as protocol
from costar._exceptions import AgentError, ConfigError, CostarError
from costar._serve import serve_in_background, stop_server
from costar.traces import (
    LIVE,
    REPLAYED_ATTRIBUTE,
    SpanRecord,
    TraceStep,
    TraceStore,
    canonical,
    trace_steps,
)

SOURCE_ATTRIBUTE = "costar.replay.source"
SUBSTITUTED_ATTRIBUTE = "costar.replay.substituted"
REPLAY_TAG = "costar.replay_of"


class ReplayMiss(CostarError):
    """A strict replay met a call that has no recording."""


class ReplayedToolError(AgentError, RuntimeError):
    """A recorded tool error whose exception type is not a built-in one, raised again into the
    replayed agent (a RuntimeError, so the agent's own handlers see it as before)."""


class Substitute(BaseModel):
    """A corrected result served at one step instead of the recorded one."""

    result: Any = Field(
        None,
        description="The corrected result (a tool's, or an assistant message for a model call).",
    )
    error: str | None = Field(None, description="Raise this instead (a corrected failure).")


class ReplayConfig(BaseModel):
    """What `costar run --replay` serves; see the module docstring."""

    run_id: str = Field(description="The recorded run whose results are served.")
    tools: list[str] = Field(default_factory=list, description="Only these tools (empty: all).")
    until_step: int | None = Field(None, ge=0, description="Serve recorded steps 1..K only.")
    strict: bool = Field(False, description="A call with no recording fails (else runs live).")
    models: bool = Field(False, description="Also serve model calls made through costar.llm.")
    serve_tools: bool = Field(True, description="False: serve no tool (model calls only).")
    trial: int | None = Field(None, description="Serve every trial from this recorded trial.")
    substitutions: dict[int, Substitute] = Field(
        default_factory=dict, description="Step number -> the corrected result served there."
    )


def _recorded_error(text: str) -> BaseException:
    name, sep, message = text.partition(": ")
    kind = getattr(builtins, name, None) if sep else None
    if isinstance(kind, type) and issubclass(kind, Exception):
        return kind(message)
    return ReplayedToolError(text)


class TrialReplay:
    """The replay plan of one trial; `serve` is called by `costar.tool` and `costar.llm`."""

    def __init__(self, config: ReplayConfig, trace_id: str | None, steps: list[TraceStep]):
        self.config = config
        self.trace_id = trace_id
        self._steps: dict[tuple[str, int], TraceStep] = {}
        seen: Counter[str] = Counter()
        for step in steps:
            if step.kind in ("tool", "llm"):
                self._steps[(step.key(), seen[step.key()])] = step
                seen[step.key()] += 1
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.served: list[int] = []  # step numbers served, in order
        self.misses: list[str] = []
        self._remote: set[tuple[str, int]] = set()  # served over HTTP, marked at the end
        self.url: str | None = None

    def _lookup(self, kind: str, name: str, inputs: Any) -> tuple[str, TraceStep | None]:
        """'live', 'miss' or 'serve' for a call, with the recorded step it matched."""
        key = "llm" if kind == "llm" else f"{name}:{canonical(inputs)}"
        with self._lock:
            occurrence = self._counts[key]
            self._counts[key] += 1
        if kind == "llm" and not self.config.models:
            return "live", None
        if kind == "tool" and (
            not self.config.serve_tools or (self.config.tools and name not in self.config.tools)
        ):
            return "live", None
        step = self._steps.get((key, occurrence))
        if step is None:
            with self._lock:
                self.misses.append(f"{name} {canonical(inputs)[:200]} (call {occurrence + 1})")
            return (
                "miss" if self.config.strict and self.config.until_step is None else "live"
            ), None
        until = self.config.until_step
        if until is not None and step.index > until and step.index not in self.config.substitutions:
            return "live", step
        with self._lock:
            self.served.append(step.index)
        return "serve", step

    def _answer(self, step: TraceStep) -> tuple[Any, str | None, bool]:
        sub = self.config.substitutions.get(step.index)
        if sub is not None:
            return sub.result, sub.error, True
        return step.outputs, step.error, False

    def serve(self, kind: str, record: SpanRecord) -> Any:
        """The served result for an in-process call, LIVE, or raises (recorded error, miss)."""
        what, step = self._lookup(kind, record.name, record.inputs)
        if what == "miss":
            record.attributes["costar.replay.miss"] = True
            raise ReplayMiss(
                f"replay of run {self.config.run_id[:12]}: no recording of {record.name} "
                f"{canonical(record.inputs)[:200]} (run without --replay-strict to call it live)"
            )
        if what == "live" or step is None:
            return LIVE
        value, error, substituted = self._answer(step)
        record.attributes[REPLAYED_ATTRIBUTE] = True
        record.attributes[SOURCE_ATTRIBUTE] = f"{self.trace_id}#{step.index}"
        if substituted:
            record.attributes[SUBSTITUTED_ATTRIBUTE] = True
        if error:
            raise _recorded_error(error)
        return value

    def serve_remote(self, name: str, args: Any) -> tuple[int, dict[str, Any]]:
        """The HTTP answer for a command agent's call: (status, body)."""
        key = f"{name}:{canonical(args)}"
        occurrence = self._counts[key]
        what, step = self._lookup("tool", name, args)
        if what == "miss":
            return 409, {"replayed": False, "error": f"no recording of {name} (strict replay)"}
        if what == "live" or step is None:
            return 200, {"replayed": False}
        value, error, substituted = self._answer(step)
        with self._lock:
            self._remote.add((key, occurrence))
        return 200, {"replayed": True, "result": value, "error": error, "step": step.index}

    def finish(self, spans: list[SpanRecord], tags: dict[str, str]) -> None:
        """Mark the spans of calls served over HTTP; note the source and misses in `tags`."""
        seen: Counter[str] = Counter()
        for span in spans:
            if span.span_type != "TOOL" or REPLAYED_ATTRIBUTE in span.attributes:
                continue
            key = f"{span.name}:{canonical(span.inputs)}"
            if (key, seen[key]) in self._remote:
                span.attributes[REPLAYED_ATTRIBUTE] = True
                span.attributes[SOURCE_ATTRIBUTE] = f"{self.trace_id}"
            seen[key] += 1
        tags[REPLAY_TAG] = self.config.run_id
        if self.trace_id:
            tags["costar.replay.trace"] = self.trace_id
        tags["costar.replay.served"] = str(len(self.served))
        tags["costar.replay.misses"] = str(len(self.misses))

    def env(self) -> dict[str, str]:
        return {protocol.REPLAY_URL: self.url} if self.url else {}


class ReplayBook:
    """The recorded run, loaded once, and the endpoint command agents ask."""

    def __init__(self, config: ReplayConfig, store: TraceStore, scenarios: set[str] | None = None):
        run = store.get_run(config.run_id)
        self.config = config.model_copy(update={"run_id": run.run_id})
        rows = [  # only the scenarios this run will play
            r
            for r in store.run_traces(run.run_id)
            if scenarios is None or r.scenario_id in scenarios
        ]
        if not rows:
            raise ConfigError(
                f"--replay {config.run_id}: run {run.run_id} has no traces of the scenarios to "
                "run (replay a run of the same suite)"
            )
        ids = {(r.scenario_id, r.trial): r.trace_id for r in rows}
        views = {v.trace_id: v for v in store.views(r.trace_id for r in rows)}
        self._steps = {
            key: (trace_id, trace_steps(list(views[trace_id].spans)))
            for key, trace_id in ids.items()
            if trace_id in views
        }
        self._trials: dict[str, TrialReplay] = {}
        self._server: ThreadingHTTPServer | None = None

    def trial(self, scenario_id: str, trial: int) -> TrialReplay:
        """The plan of one new trial (empty when RUN has no such scenario: every call misses)."""
        wanted = self.config.trial if self.config.trial is not None else trial
        found = self._steps.get((scenario_id, wanted))
        if found is None:
            firsts = sorted(t for (s, t) in self._steps if s == scenario_id)
            found = self._steps.get((scenario_id, firsts[0])) if firsts else None
        trace_id, steps = found if found else (None, [])
        plan = TrialReplay(self.config, trace_id, steps)
        token = secrets.token_hex(8)
        self._trials[token] = plan
        plan.url = f"{self._serve()}/{token}"
        return plan

    def _serve(self) -> str:
        if self._server is None:
            trials = self._trials

            class Handler(BaseHTTPRequestHandler):
                def do_POST(self) -> None:  # noqa: N802 - http.server's name
                    plan = trials.get(self.path.strip("/"))
                    try:
                        size = int(self.headers.get("Content-Length") or 0)
                        data = json.loads(self.rfile.read(size) or b"{}")
                        name, args = str(data["name"]), data.get("args")
                    except (ValueError, KeyError, TypeError):
                        self._send(400, {"error": 'expected {"name": TOOL, "args": {...}}'})
                        return
                    if plan is None:
                        self._send(404, {"error": "no such trial"})
                        return
                    self._send(*plan.serve_remote(name, args))

                def _send(self, status: int, body: dict[str, Any]) -> None:
                    raw = json.dumps(body, default=repr).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)

                def log_message(self, *args: Any) -> None:
                    pass

            self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self._server.daemon_threads = True
            serve_in_background(self._server, "costar-replay")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        if self._server is not None:
            stop_server(self._server)
            self._server = None
