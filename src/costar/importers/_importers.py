"""Import conversations recorded elsewhere, so they are judged like costar's own traces.

Each import makes a run: its scenarios are written as YAML files under
`imported/<format>-<time>/` in the project (the run's suite), its conversations become traces
in the store, and recorded rewards become verdicts of the judge `imported:reward`.

- openai-chat: JSON lines, one conversation each: `{"messages": [...]}` with optional `id`,
  `scenario_id` (trials of one scenario share it), `model`, `usage`, `expectations`.
- conversation: generic (multi-agent) message logs, one span per message with its step index
  (see `_conversation`); `passed` or `reward` becomes the `imported:reward` verdict.
- tau-bench: the results file of sierra-research/tau-bench, a list of
  `{task_id, trial, reward, info: {task: {user_id, actions, instruction, outputs}}, traj}`.

Which tools only read is never guessed from their names: it comes from `--read-only` (written
into each imported scenario's `expectations.read_only`) or the project's `read_only` setting,
and the summary says which. With read-only tools known, a tau-bench task's actions are its
complete list of state-changing calls, so its scenario compares tool calls in `exact` mode.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from costar._exceptions import CostarError, InputError, StoreError, UsageError
from costar._input import clip, excerpt, load_json, load_jsonl
from costar.assess import VerdictStore
from costar.importers._conversation import conversation_trial, read_conversations, reward_of
from costar.importers._convert import messages_to_trial
from costar.importers._records import ChatRecord, TauRecord, describe
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


def _openai(path: Path) -> tuple[list[Scenario], list[dict[str, Any]]]:
    scenarios: dict[str, Scenario] = {}
    records: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    trials_of: dict[str, int] = {}
    for number, data in load_jsonl(path):
        try:
            record = ChatRecord.model_validate(data)
        except ValidationError as exc:
            raise InputError(
                f"{path}:{number}: {describe(exc)} (expected an object with a 'messages' list: "
                "OpenAI chat format)"
            ) from exc
        messages = data["messages"]
        sid = _safe_id(str(record.scenario_id or record.id or f"chat-{number}"), ids)
        users = [_text(m.content) for m in record.messages if m.role == "user"]
        if sid not in scenarios:
            try:
                scenarios[sid] = Scenario.model_validate(
                    {
                        "id": sid,
                        "description": f"imported from {path.name}:{number}",
                        "tags": ["imported"],
                        "input": users if len(users) > 1 else (users or [""])[0],
                        "expectations": record.expectations or {},
                        "source": "production",
                    }
                )
            except ValidationError as exc:
                raise InputError(
                    f"{path}:{number}: {describe(exc)} (`costar schema` shows the expectations)"
                ) from exc
        trial = trials_of.get(sid, 0)  # counted, not searched: linear in the file's length
        trials_of[sid] = trial + 1
        records.append(
            {
                "scenario": sid,
                "trial": trial,
                "messages": messages,
                "model": record.model,
                "usage": record.usage,
                "reward": None,
            }
        )
    return list(scenarios.values()), records


def _text(content: Any) -> str:
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content or ""


def _tau(path: Path) -> tuple[list[Scenario], list[dict[str, Any]]]:
    data = load_json(path)
    if not isinstance(data, list):
        raise InputError(f"{path}:1: expected a list of tau-bench result records")
    scenarios: dict[str, Scenario] = {}
    records = []
    seen: set[tuple[str, int]] = set()
    ids: dict[str, str] = {}
    for index, item in enumerate(data):
        try:
            record = TauRecord.model_validate(item)
        except ValidationError as exc:
            raise InputError(
                f"{path}: record {index}: {describe(exc)} (task_id, info.task, traj are required)"
            ) from exc
        task = record.info.task
        sid = _safe_id(f"tau-task-{record.task_id}", ids)
        if (sid, record.trial) in seen:
            raise InputError(
                f"{path}: record {index}: task {excerpt(record.task_id)} trial {record.trial} "
                "appears twice (give each trial of a task its own 'trial' number)"
            )
        seen.add((sid, record.trial))
        if sid not in scenarios:
            scenarios[sid] = Scenario.model_validate(
                {
                    "id": sid,
                    "description": f"tau-bench task {clip(str(record.task_id), 60)} "
                    f"(user {clip(str(task.user_id), 60)})",
                    "tags": ["imported", "tau-bench"],
                    "input": task.instruction or "",
                    "expectations": {
                        "tool_calls": [
                            {"name": a.name, "args": a.kwargs or {}} for a in task.actions or []
                        ],
                        "facts": [str(o) for o in task.outputs or []],
                    },
                    "source": "generated",
                }
            )
        records.append(
            {
                "scenario": sid,
                "trial": record.trial,
                "messages": item["traj"],
                "model": None,
                "usage": None,
                "reward": record.reward,
            }
        )
    return list(scenarios.values()), records


def _safe_id(text: str, ids: dict[str, str]) -> str:
    """A scenario id (and file name) for `text`, remembered in `ids` (text -> id): letters,
    digits, '_', '.' and '-', at most 80 characters, distinct texts kept distinct."""
    if text in ids:
        return ids[text]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "chat"
    cleaned = cleaned if cleaned[0].isalnum() else f"c{cleaned}"
    if len(cleaned) > 80 or cleaned in ids.values():
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        cleaned = f"{cleaned[:69]}-{digest}"
    ids[text] = cleaned
    return cleaned


def _conversations(path: Path) -> tuple[list[Scenario], list[dict[str, Any]]]:
    scenarios: list[Scenario] = []
    records: list[dict[str, Any]] = []
    ids: dict[str, str] = {}
    for index, (where, conv) in enumerate(read_conversations(path)):
        sid = _safe_id(
            str(conv.get("id") or f"conversation-{index}")
            if isinstance(conv, dict)
            else f"conversation-{index}",
            ids,
        )
        trial = conversation_trial(where, conv, sid)
        scenarios.append(
            Scenario.model_validate(
                {
                    "id": sid,
                    "description": f"imported from {clip(where, 200)}",
                    "tags": ["imported", "conversation"],
                    "input": trial.turns[0].user,
                    "source": "production",
                }
            )
        )
        records.append({"scenario": sid, "trial": 0, "record": trial, "reward": reward_of(conv)})
    return scenarios, records


# the formats `costar import` reads, by name
FORMATS = {"openai-chat": _openai, "tau-bench": _tau, "conversation": _conversations}


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
    trials = _trials(path, records)  # every record converts before anything is written
    suite = _new_suite_folder(root / "imported", fmt)
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
    landed: set[str] = set()
    try:
        for t in trials:
            t.run_id = run_id
        for start in range(0, len(trials), 200):
            landed |= store.write(trials[start : start + 200])
        if len(landed) < len(trials):
            raise StoreError(
                f"{len(trials) - len(landed)} of {len(trials)} imported traces did not land "
                f"in the store; run {run_id} is marked FAILED (import the file again)"
            )
        verdicts = _reward_verdicts(fmt, run_id, trials, records)
        if verdicts:
            VerdictStore(verdict_store or root / ".costar" / "verdicts.db").write(verdicts)
    except BaseException as exc:
        _mark_failed(store, run_id, len(landed), exc)
        if isinstance(exc, CostarError | KeyboardInterrupt):
            raise
        raise StoreError(
            f"import into run {run_id} failed after {len(landed)} of {len(trials)} traces: "
            f"{type(exc).__name__}: {clip(str(exc), 120)} (the run is marked FAILED; "
            "import the file again)"
        ) from exc
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


def _trials(path: Path, records: list[dict[str, Any]]) -> list[TrialRecord]:
    """One trial per record; the run id is filled in once the run exists."""
    trials = []
    for index, r in enumerate(records):
        if "record" in r:  # converted by its format already
            trials.append(r["record"])
            continue
        try:
            trials.append(
                messages_to_trial(
                    r["messages"], "", r["scenario"], r["trial"], r["model"], r["usage"]
                )
            )
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            raise InputError(
                f"{path}: record {index}: cannot read the conversation: "
                f"{clip(str(exc), 100)} (check the messages' shape)"
            ) from exc
    return trials


def _reward_verdicts(
    fmt: str, run_id: str, trials: list[TrialRecord], records: list[dict[str, Any]]
) -> list[Verdict]:
    return [
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
        if r["reward"] is not None
    ]


def _new_suite_folder(parent: Path, fmt: str) -> Path:
    """`<fmt>-<time>`, or `<fmt>-<time>-2`, ...: created atomically, so two imports in the
    same second never share a folder."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        folder = parent / (f"{fmt}-{stamp}" if n == 1 else f"{fmt}-{stamp}-{n}")
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue
    raise UsageError(f"{parent}: too many imports named {fmt}-{stamp} (remove old ones)")


def _mark_failed(store: TraceStore, run_id: str, written: int, exc: BaseException) -> None:
    """End the run FAILED with what went wrong, so no import is left RUNNING."""
    try:
        store.set_run_tag(run_id, "costar.error", f"{type(exc).__name__}: {exc}"[:500])
        store.finish_run(run_id, "FAILED", {"traces_written": written})
    except Exception:  # noqa: S110 - the original error is the one to report
        pass


def _with_read_only(scenario: Scenario, read_only: list[str], mode: str) -> Scenario:
    exp = scenario.expectations
    update: dict[str, Any] = {"read_only": sorted(read_only)} if read_only else {}
    if mode != "subset" and exp.tool_calls:
        update["tool_call_mode"] = mode
    if not update:
        return scenario
    return scenario.model_copy(update={"expectations": exp.model_copy(update=update)})
