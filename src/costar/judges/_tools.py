"""The agentic judge's tools over one trace. Every result is at most 8 KB, paged when longer.

Results carry trace content, so with a boundary they come wrapped in it like all trace data
(see `_prompt`), the wrapping counted inside the 8 KB.
"""

from __future__ import annotations

import json
import re
import sqlite3
from typing import Any

from costar.judges._checks import _rebuild
from costar.judges._prompt import wrap
from costar.traces import TraceView

MAX_RESULT = 8_192  # bytes of one tool result
PAGE = 6_000  # characters of content per page
MAX_LIST = 50  # at most this many items in one list answer of a trace tool


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


_INT = {"type": "integer"}
_STR = {"type": "string"}
TOOL_SCHEMAS = [  # the built-in trace tools an agentic judge is offered
    _fn(
        "list_spans",
        "List spans (id, name, type, parent, status), optionally by type or name.",
        {"span_type": _STR, "name": _STR, "offset": _INT},
        [],
    ),
    _fn(
        "get_span",
        "Read one span's inputs, outputs, attributes or error, a page at a time.",
        {
            "span_id": _STR,
            "field": {"type": "string", "enum": ["inputs", "outputs", "attributes", "error"]},
            "offset": _INT,
        },
        ["span_id", "field"],
    ),
    _fn(
        "search",
        "Find a regular expression in span names, inputs, outputs and errors.",
        {"pattern": _STR, "offset": _INT},
        ["pattern"],
    ),
    _fn("list_files", "List the files of the final workspace.", {}, []),
    _fn(
        "read_file",
        "Read a final-workspace file, a page at a time.",
        {"path": _STR, "offset": _INT},
        ["path"],
    ),
    _fn(
        "query_state",
        "Run a read-only SQL query on a final-state database.",
        {"sql": _STR, "db": _STR},
        ["sql"],
    ),
    _fn(
        "finish",
        "Give the verdict.",
        {
            "passed": {"type": "boolean"},
            "rationale": _STR,
            "evidence": {"type": "array", "items": _STR},
            "references": {
                "type": "array",
                "items": _STR,
                "description": "refs (path#offset) of the reference passages relied on",
            },
        },
        ["passed", "rationale"],
    ),
]
REFERENCE_SCHEMAS = [
    _fn(
        "search_references",
        "Search the reference documents: passages ranked by relevance (ref, heading, snippet).",
        {"query": _STR, "offset": _INT},
        ["query"],
    ),
    _fn(
        "read_reference",
        "Read a reference document (or from a passage's ref, path#offset), a page at a time.",
        {"doc": _STR, "offset": _INT},
        ["doc"],
    ),
]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=repr, ensure_ascii=False)


def bounded(data: dict[str, Any], limit: int = MAX_RESULT) -> str:
    """JSON of `data`, at most `limit` bytes (long lists and content are cut, and say so)."""
    text = json.dumps(data, default=repr, ensure_ascii=False)
    while len(text.encode()) > limit:
        if isinstance(data.get("content"), str) and len(data["content"]) > 200:
            data["content"] = data["content"][: len(data["content"]) // 2]
            data["truncated"] = True
        elif isinstance(data.get("items"), list) and len(data["items"]) > 1:
            data["items"] = data["items"][: len(data["items"]) // 2]
            data["truncated"] = True
        else:
            return text.encode()[: limit - 40].decode(errors="ignore") + '..."[cut]"'
        text = json.dumps(data, default=repr, ensure_ascii=False)
    return text


class JudgeTools:
    """Read-only tools over one trace for an agentic judge."""

    def __init__(self, view: TraceView, boundary: str | None = None, corpus: Any = None):
        self.view = view
        self.boundary = boundary
        self.corpus = corpus  # References, when the judge has reference documents

    def overview(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for s in self.view.spans:
            counts[s.span_type] = counts.get(s.span_type, 0) + 1
        return {
            "scenario": self.view.scenario_id,
            "status": self.view.status,
            "user_turns": [t[:500] for t in self.view.turns],
            "span_counts": counts,
            "final_output": _text(self.view.output)[:1000],
        }

    def known(self, ids: list[Any]) -> list[str]:
        spans = {s.span_id for s in self.view.spans}
        return [str(i) for i in ids if str(i) in spans]

    def run(self, name: str, args: dict[str, Any]) -> str:
        """The tool's result as JSON, inside the boundary when there is one."""
        limit = MAX_RESULT - (len(wrap("", self.boundary)) if self.boundary else 0)
        method = getattr(self, f"t_{name}", None)
        if method is None:
            text = bounded({"error": f"unknown tool {name!r}"}, limit)
        else:
            try:
                text = bounded(method(**args), limit)
            except (TypeError, KeyError, ValueError, re.error, sqlite3.Error) as exc:
                text = bounded({"error": f"{type(exc).__name__}: {exc}"}, limit)
        return wrap(text, self.boundary) if self.boundary else text

    def t_list_spans(
        self, span_type: str | None = None, name: str | None = None, offset: int = 0
    ) -> dict[str, Any]:
        spans = self.view.spans_of(span_type or None, name or None)
        page = spans[offset : offset + MAX_LIST]
        items = [
            {
                "span_id": s.span_id,
                "name": s.name,
                "type": s.span_type,
                "parent": s.parent_id,
                "status": "error" if s.failed else "ok",
            }
            for s in page
        ]
        nxt = offset + len(page) if offset + len(page) < len(spans) else None
        return {"total": len(spans), "offset": offset, "next_offset": nxt, "items": items}

    def _page(self, content: str, offset: int, **meta: Any) -> dict[str, Any]:
        chunk = content[offset : offset + PAGE]
        nxt = offset + len(chunk) if offset + len(chunk) < len(content) else None
        return {
            **meta,
            "total_chars": len(content),
            "offset": offset,
            "next_offset": nxt,
            "content": chunk,
        }

    def t_get_span(self, span_id: str, field: str = "outputs", offset: int = 0) -> dict[str, Any]:
        span = self.view.span(span_id)
        value = {
            "inputs": span.inputs,
            "outputs": span.outputs,
            "attributes": span.attributes,
            "error": span.error,
        }[field]
        return self._page(_text(value), offset, span_id=span_id, name=span.name, field=field)

    def t_search(self, pattern: str, offset: int = 0) -> dict[str, Any]:
        regex = re.compile(pattern, re.I)
        hits = []
        for s in self.view.spans:
            for field, value in (
                ("name", s.name),
                ("inputs", s.inputs),
                ("outputs", s.outputs),
                ("error", s.error),
            ):
                text = _text(value)
                found = regex.search(text)
                if found:
                    start = max(0, found.start() - 80)
                    hits.append(
                        {
                            "span_id": s.span_id,
                            "name": s.name,
                            "field": field,
                            "snippet": text[start : found.end() + 80],
                        }
                    )
        page = hits[offset : offset + 20]
        nxt = offset + len(page) if offset + len(page) < len(hits) else None
        return {"total": len(hits), "offset": offset, "next_offset": nxt, "items": page}

    def t_search_references(self, query: str, offset: int = 0) -> dict[str, Any]:
        if self.corpus is None:
            raise KeyError("this judge has no reference documents")
        return self.corpus.search(query, offset)

    def t_read_reference(self, doc: str, offset: int = 0) -> dict[str, Any]:
        if self.corpus is None:
            raise KeyError("this judge has no reference documents")
        return self.corpus.read(doc, offset, PAGE)

    def t_list_files(self) -> dict[str, Any]:
        files = (self.view.snapshot or {}).get("files", [])
        return {"items": [{"path": f["path"], "size": f.get("size")} for f in files]}

    def t_read_file(self, path: str, offset: int = 0) -> dict[str, Any]:
        entry = self.view.file(path)
        if entry is None:
            raise KeyError(f"no file {path!r} in the final workspace")
        if "text" not in entry:
            raise ValueError(f"{path} is binary or larger than the snapshot keeps")
        return self._page(entry["text"], offset, path=path)

    def t_query_state(self, sql: str, db: str | None = None) -> dict[str, Any]:
        if not re.match(r"\s*(select|with)\b", sql, re.I):
            raise ValueError("only SELECT queries")
        conn = _rebuild(self.view.tables(db or None))
        try:
            rows = conn.execute(sql).fetchmany(MAX_LIST + 1)
        finally:
            conn.close()
        return {"rows": [list(r) for r in rows[:MAX_LIST]], "more": len(rows) > MAX_LIST}


def tool_schema(
    name: str, description: str, properties: dict[str, Any], required: list[str]
) -> dict:
    """An OpenAI function-tool schema, for steps that offer a model tools beside the judges'."""
    return _fn(name, description, properties, required)


def as_text(value: Any) -> str:
    """A value as text: a string as it is, anything else as JSON."""
    return _text(value)
