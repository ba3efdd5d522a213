"""Import conversations recorded elsewhere, so they are judged like costar's own traces.

Each import makes a run: its scenarios are written as YAML files under
`imported/<format>-<time>/` in the project (the run's suite), its conversations become traces
in the store, and recorded rewards become verdicts of the judge `imported:reward`.

- openai-chat: JSON lines, one conversation each: `{"messages": [...]}` with optional `id`,
  `scenario_id` (trials of one scenario share it), `model`, `usage`, `expectations`.
- tau-bench: the results file of sierra-research/tau-bench, a list of
  `{task_id, trial, reward, info: {task: {user_id, actions, instruction, outputs}}, traj}`.

Which tools only read is never guessed from their names: it comes from `--read-only` (written
into each imported scenario's `expectations.read_only`) or the project's `read_only` setting,
and the summary says which. With read-only tools known, a tau-bench task's actions are its
complete list of state-changing calls, so its scenario compares tool calls in `exact` mode.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from costar._exceptions import UsageError
from costar.assess import VerdictStore
from costar.importers._convert import messages_to_trial
from costar.judges import Verdict
from costar.scenarios import Scenario
from costar.traces import TraceStore, TrialRecord


@dataclass
class ImportSummary:
    """What an import made."""

    run_id: str = ""
    format: str = ""
    records: int = 0
    scenarios: int = 0
    written: int = 0
    verdicts: int = 0
    suite: str = ""
    read_only: list[str] = field(default_factory=list)
    read_only_from: str = "none"  # "--read-only", "costar.toml read_only" or "none"
    tool_call_mode: str = "subset"
    problems: list[str] = field(default_factory=list)


def _read_jsonl(path: Path) -> list[tuple[int, Any]]:
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{path}:{number}:{exc.colno}: not JSON: {exc.msg} (one JSON object per line)"
            ) from exc
    return out


def _openai(path: Path) -> tuple[list[Scenario], list[dict[str, Any]]]:
    scenarios: dict[str, Scenario] = {}
    records = []
    for number, data in _read_jsonl(path):
        messages = data.get("messages") if isinstance(data, dict) else None
        if not isinstance(messages, list) or not messages:
            raise UsageError(
                f"{path}:{number}:1: expected an object with a 'messages' list (OpenAI chat format)"
            )
        sid = str(data.get("scenario_id") or data.get("id") or f"chat-{number}")
        users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
        if sid not in scenarios:
            scenarios[sid] = Scenario.model_validate(
                {
                    "id": _safe_id(sid),
                    "description": f"imported from {path.name}:{number}",
                    "tags": ["imported"],
                    "input": users if len(users) > 1 else (users or [""])[0],
                    "expectations": data.get("expectations") or {},
                    "source": "production",
                }
            )
        trial = sum(1 for r in records if r["scenario"] == sid)
        records.append(
            {
                "scenario": sid,
                "trial": trial,
                "messages": messages,
                "model": data.get("model"),
                "usage": data.get("usage"),
                "reward": None,
            }
        )
    return list(scenarios.values()), records


def _tau(path: Path) -> tuple[list[Scenario], list[dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from exc
    if not isinstance(data, list):
        raise UsageError(f"{path}:1:1: expected a list of tau-bench result records")
    scenarios: dict[str, Scenario] = {}
    records = []
    for index, item in enumerate(data):
        try:
            task = item["info"]["task"]
            sid = f"tau-task-{item['task_id']}"
            traj = item["traj"]
        except (KeyError, TypeError) as exc:
            raise UsageError(
                f"{path}: record {index}: missing {exc} (task_id, info.task, traj are required)"
            ) from exc
        if sid not in scenarios:
            scenarios[sid] = Scenario.model_validate(
                {
                    "id": sid,
                    "description": f"tau-bench task {item['task_id']} (user {task.get('user_id')})",
                    "tags": ["imported", "tau-bench"],
                    "input": task.get("instruction") or "",
                    "expectations": {
                        "tool_calls": [
                            {"name": a["name"], "args": a.get("kwargs") or {}}
                            for a in task.get("actions") or []
                        ],
                        "facts": [str(o) for o in task.get("outputs") or []],
                    },
                    "source": "generated",
                }
            )
        records.append(
            {
                "scenario": sid,
                "trial": int(item.get("trial", 0)),
                "messages": traj,
                "model": None,
                "usage": None,
                "reward": item.get("reward"),
            }
        )
    return list(scenarios.values()), records


def _safe_id(text: str) -> str:
    import re

    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "chat"
    return cleaned if cleaned[0].isalnum() else f"c{cleaned}"


FORMATS = {"openai-chat": _openai, "tau-bench": _tau}


def import_file(
    fmt: str,
    path: Path,
    root: Path,
    tracking_uri: str,
    experiment: str = "costar",
    verdict_store: str | None = None,
    read_only: list[str] | None = None,
    project_read_only: list[str] | None = None,
) -> ImportSummary:
    """Import one file: scenarios to `imported/`, traces to the store, rewards to verdicts.
    `read_only` (the `--read-only` tools) is written into the scenarios; else the project's
    `read_only` setting applies through the judges. Neither is guessed."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown import format {fmt!r} (use {' or '.join(FORMATS)})")
    if not path.is_file():
        raise UsageError(f"{path}: file not found")
    scenarios, records = FORMATS[fmt](path)
    tools = sorted(read_only or []) if read_only is not None else sorted(project_read_only or [])
    source = "--read-only" if read_only is not None else "costar.toml read_only"
    mode = "exact" if fmt == "tau-bench" and tools else "subset"
    scenarios = [_with_read_only(s, read_only or [], mode) for s in scenarios]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    suite = root / "imported" / f"{fmt}-{stamp}"
    suite.mkdir(parents=True, exist_ok=True)
    for scenario in scenarios:
        data = scenario.model_dump(mode="json", by_alias=True, exclude_defaults=True)
        data["id"] = scenario.id
        (suite / f"{scenario.id}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    store = TraceStore(tracking_uri, experiment)
    run_id = store.create_run(
        f"import {path.name}",
        {
            "suite": str(suite),
            "agent": f"imported:{fmt}",
            "trials": max((r["trial"] for r in records), default=0) + 1,
            "source_file": str(path),
        },
        tags={"costar.kind": "run", "costar.imported": fmt},
    )
    ids = {s.id for s in scenarios}
    trials: list[TrialRecord] = []
    for r in records:
        sid = r["scenario"] if r["scenario"] in ids else _safe_id(r["scenario"])
        trials.append(
            messages_to_trial(r["messages"], run_id, sid, r["trial"], r["model"], r["usage"])
        )
    landed: set[str] = set()
    for start in range(0, len(trials), 200):
        landed |= store.write(trials[start : start + 200])
    verdicts = [
        Verdict(
            judge="imported:reward",
            judge_version="imported",
            kind="check",
            trace_id=t.trace_id,
            run_id=run_id,
            scenario_id=t.scenario_id,
            trial=t.trial,
            passed=float(r["reward"]) >= 1.0,
            value=float(r["reward"]),
            rationale=f"reward {r['reward']} recorded by {fmt}",
        )
        for t, r in zip(trials, records, strict=True)
        if r["reward"] is not None and t.trace_id in landed
    ]
    if verdicts:
        VerdictStore(verdict_store or root / ".costar" / "verdicts.db").write(verdicts)
    store.finish_run(run_id, "FINISHED", {"trials_ok": len(landed), "traces_written": len(landed)})
    return ImportSummary(
        run_id=run_id,
        format=fmt,
        records=len(records),
        scenarios=len(scenarios),
        written=len(landed),
        verdicts=len(verdicts),
        suite=str(suite),
        read_only=tools,
        read_only_from=source if tools else "none",
        tool_call_mode=mode,
    )


def _with_read_only(scenario: Scenario, read_only: list[str], mode: str) -> Scenario:
    exp = scenario.expectations
    update: dict[str, Any] = {"read_only": sorted(read_only)} if read_only else {}
    if mode != "subset" and exp.tool_calls:
        update["tool_call_mode"] = mode
    if not update:
        return scenario
    return scenario.model_copy(update={"expectations": exp.model_copy(update=update)})
