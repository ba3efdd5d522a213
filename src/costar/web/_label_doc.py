"""What the labelling page shows, as plain data: the trace as a person reads it, the scenario's
expectations the labeller judges against, and the final state as tables.

Everything here is text or lists of text; the page inserts it with `textContent` only.
"""

from __future__ import annotations

import json
from typing import Any

from costar.judges import Judge
from costar.traces import TraceView

MAX_TEXT = 20_000  # characters of any one text sent to the page
MAX_CELL = 500  # characters of one table cell
MAX_ROWS = 200  # rows of one table sent to the page


def _cut(text: str, limit: int) -> str:
    """`text` (newlines kept) cut to `limit` characters, saying so."""
    return text if len(text) <= limit else text[:limit] + f"… ({len(text) - limit:,} more)"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=repr)


def _clip(value: Any) -> str:
    """Any value as text (strings as they are, the rest as indented JSON), cut to MAX_TEXT."""
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=repr)
    return _cut(text, MAX_TEXT)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    return _cut(value if isinstance(value, str) else _json(value), MAX_CELL)


def trace_document(view: TraceView) -> dict[str, Any]:
    """A trace as a person reads it: user turns, tool calls and replies in order, the final
    state as file and table listings. No verdicts."""
    items: list[dict[str, Any]] = []
    chains = view.turn_spans()
    tools = view.tool_calls()
    by_id = {s.span_id: s for s in view.spans}
    turns = view.turns
    if not chains:
        items += [{"kind": "user", "text": _clip(t)} for t in turns]
    for i, chain in enumerate(chains):
        if i < len(turns):
            items.append({"kind": "user", "text": _clip(turns[i])})
        for call in tools:
            span = by_id[call.span_id]
            if chain.start_ns <= span.start_ns <= chain.end_ns:
                items.append(_tool(call))
        if chain.outputs is not None or chain.error:
            items.append(
                {"kind": "agent", "text": _clip(chain.outputs or ""), "error": chain.error}
            )
    if not chains:
        items += [_tool(c) for c in tools]
        items.append({"kind": "agent", "text": _clip(view.output or ""), "error": view.error})
    return {
        "trace_id": view.trace_id,
        "scenario_id": view.scenario_id,
        "run_id": view.run_id,
        "status": view.status,
        "items": items,
        "final_state": state_document(view.snapshot) if view.snapshot else None,
    }


def _tool(call: Any) -> dict[str, Any]:
    return {
        "kind": "tool",
        "name": call.name,
        "args": _clip(call.args),
        "result": _clip(call.result) if call.result is not None else "",
        "error": call.error,
    }


def _table(name: str, table: dict[str, Any]) -> dict[str, Any]:
    columns = [str(c[0]) for c in table.get("columns", [])]
    count = int(table.get("row_count", 0))
    out: dict[str, Any] = {"name": name, "columns": columns, "row_count": count, "rows": []}
    if "rows" not in table:
        out["note"] = (
            f"{count:,} rows, too many to keep in the snapshot (hash {str(table.get('hash'))[:12]})"
        )
        return out
    out["rows"] = [[_cell(v) for v in row] for row in table["rows"][:MAX_ROWS]]
    if count > MAX_ROWS:
        out["note"] = f"the first {MAX_ROWS} of {count:,} rows"
    return out


def state_document(snapshot: dict[str, Any]) -> dict[str, Any]:
    """A final-state snapshot as tables: the workspace files (path, size, text when small)
    and each SQLite database's tables (columns and rows, every cell as text)."""
    databases = []
    for name, db in sorted((snapshot.get("sqlite") or {}).items()):
        entry: dict[str, Any] = {"name": name, "tables": []}
        if "error" in db:
            entry["error"] = _cut(str(db["error"]), MAX_CELL)
        for table_name, table in sorted((db.get("tables") or {}).items()):
            entry["tables"].append(_table(table_name, table))
        databases.append(entry)
    files = []
    for f in snapshot.get("files", []):
        row: dict[str, Any] = {"path": str(f.get("path", "")), "size": f.get("size")}
        if "error" in f:
            row["note"] = _cut(f"unreadable: {f['error']}", MAX_CELL)
        elif f.get("path") in (snapshot.get("sqlite") or {}):
            row["note"] = "SQLite database (its tables are below)"
        elif "text" in f:
            row["text"] = _cut(f["text"], MAX_TEXT)
        else:
            row["note"] = "binary or too large to keep as text"
        files.append(row)
    return {"files": files, "databases": databases, "truncated": bool(snapshot.get("truncated"))}


def _call(want: Any) -> str:
    text = want.name + (" " + _json(want.args) if want.args else "")
    if want.exact:
        text += " (exact arguments)"
    if want.max == 0:
        return text + ": never"
    if (want.min, want.max) != (1, None):
        most = "any number" if want.max is None else str(want.max)
        text += f": {want.min} to {most} calls"
    return text


def _artifact(art: Any) -> str:
    parts = [art.path]
    if art.regex:
        parts.append(f"matching /{art.regex}/")
    if art.json_schema:
        parts.append(f"JSON with schema {_json(art.json_schema)}")
    return ", ".join(parts)


def scenario_document(scenario: Any) -> dict[str, Any]:
    """What the scenario asks for, as sections of text lines the labeller judges against:
    guidelines first, then every other expectation kind the scenario states."""
    exp = scenario.expectations
    sections: list[dict[str, Any]] = []

    def add(title: str, lines: list[str]) -> None:
        if lines:
            sections.append({"title": title, "lines": [_cut(line, MAX_CELL * 4) for line in lines]})

    add("Facts the replies state", list(exp.facts))
    add("Replies match (regular expressions)", [f"/{p}/" for p in exp.reply_matches])
    add("No reply says", list(exp.reply_excludes))
    add("The final output (JSON) has", [f"{p} = {_json(v)}" for p, v in exp.output_json.items()])
    mode = exp.tool_call_mode or "subset"
    add(f"Tool calls ({mode})", [_call(w) for w in exp.tool_calls])
    add("Read-only tools (not compared)", list(exp.read_only))
    add("Files in the final workspace", [_artifact(a) for a in exp.artifacts])
    add(
        "Final database state",
        [f"{s.sql} → {_json(s.rows)}" + (f" (in {s.db})" if s.db else "") for s in exp.state],
    )
    add("Budgets (at most)", [f"{k}: {v:g}" for k, v in exp.budgets.items()])
    selection = scenario.judges
    if selection is not None:
        if selection.only is not None:
            add("Judges", ["only " + ", ".join(selection.only)])
        else:
            add("Judges", ["also " + ", ".join(selection.also)])
    return {
        "id": scenario.id,
        "description": _cut(scenario.description, MAX_TEXT),
        "variant": [f"{k} = {_json(v)}" for k, v in scenario.variant.items()],
        "guidelines": [_cut(g, MAX_TEXT) for g in exp.guidelines],
        "expectations": sections,
    }


def judge_brief(judge: Judge, scenario: Any) -> dict[str, Any]:
    """What one judge looks for (its own guidelines or instructions, when it has them) and
    whether it scores this scenario at all."""
    own = judge.params.get("guidelines") or []
    if isinstance(own, str):
        own = [own]
    instructions = judge.params.get("instructions")
    return {
        "name": judge.name,
        "guidelines": [_cut(str(g), MAX_TEXT) for g in own],
        "instructions": _cut(str(instructions), MAX_TEXT) if instructions else None,
        "skipped": judge.applies(scenario) if scenario is not None else None,
    }
