"""Built-in checks: deterministic judges, no LLM. Each cites the spans it used as evidence."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import sqlite3
from typing import Any, Literal

import yaml

from costar.judges._judge import judge
from costar.judges._verdict import Outcome, skip
from costar.traces import ToolCallView, TraceView


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, default=repr)


def _json(value: Any) -> Any:
    if isinstance(value, str):
        return json.loads(value)
    return value


@judge("output-present", "check", reads=[])
def output_present(view: TraceView, scenario: Any) -> Outcome:
    """The agent produced a non-empty final output."""
    ok = bool(_text(view.output).strip())
    reason = "the agent answered" if ok else f"no output ({view.error or 'empty reply'})"
    return Outcome(passed=ok, rationale=reason, evidence=[view.root.span_id])


@judge("output-json-schema", "check", reads=[])
def output_json_schema(view: TraceView, scenario: Any, schema: dict[str, Any]) -> Outcome:
    """The final output is JSON matching a JSON Schema."""
    import jsonschema

    try:
        data = _json(view.output)
        jsonschema.validate(data, schema)
    except (json.JSONDecodeError, TypeError) as exc:
        return Outcome(
            passed=False, rationale=f"output is not JSON: {exc}", evidence=[view.root.span_id]
        )
    except jsonschema.ValidationError as exc:
        return Outcome(
            passed=False,
            rationale=f"output does not match the schema: {exc.message}",
            evidence=[view.root.span_id],
        )
    return Outcome(passed=True, rationale="output matches the schema", evidence=[view.root.span_id])


def _parse(lang: str, text: str) -> str | None:
    """None if `text` parses as `lang`, else the parser's message."""
    try:
        if lang == "python":
            ast.parse(text)
        elif lang == "json":
            json.loads(text)
        elif lang == "yaml":
            # composing checks the syntax without building values: an alias bomb in an agent's
            # reply costs nothing, and custom tags (CloudFormation's !Ref) are valid YAML
            yaml.compose(text, Loader=yaml.SafeLoader)
        elif lang == "sql":
            conn = sqlite3.connect(":memory:")
            try:
                for stmt in filter(str.strip, text.split(";")):
                    try:
                        conn.execute(f"EXPLAIN {stmt}")
                    except sqlite3.OperationalError as exc:
                        if "syntax error" in str(exc) or "incomplete input" in str(exc):
                            raise
            finally:
                conn.close()
        else:
            return f"unknown language {lang!r} (python, sql, json or yaml)"
    except (SyntaxError, ValueError, yaml.YAMLError, sqlite3.Error) as exc:
        return str(exc).splitlines()[0]
    except RecursionError:
        return "nested too deeply to parse"
    return None


_FENCE = re.compile(r"```[a-zA-Z]*\n(.*?)```", re.S)


@judge("parses", "check", reads=[])
def parses(view: TraceView, scenario: Any, lang: str, files: str | None = None) -> Outcome:
    """Code in the output (fenced blocks, or the whole text) or in workspace files parses."""
    if files:
        entries = [
            f for f in (view.snapshot or {}).get("files", []) if fnmatch.fnmatch(f["path"], files)
        ]
        if not entries:
            return Outcome(passed=False, rationale=f"no workspace file matches {files!r}")
        missing = [f["path"] for f in entries if "text" not in f]
        if missing:
            return skip(f"files too large or binary to check: {missing}")
        sources = [(f["path"], f["text"]) for f in entries]
        evidence = [s.span_id for s in view.spans_of(name="final_state")]
    else:
        text = _text(view.output)
        blocks = _FENCE.findall(text) or [text]
        sources = [(f"output block {i + 1}", b) for i, b in enumerate(blocks)]
        evidence = [view.root.span_id]
    errors = [f"{where}: {msg}" for where, src in sources if (msg := _parse(lang, src))]
    if errors:
        return Outcome(passed=False, rationale="; ".join(errors), evidence=evidence)
    return Outcome(
        passed=True, rationale=f"{len(sources)} {lang} source(s) parse", evidence=evidence
    )


def _args_match(actual: dict[str, Any], wanted: dict[str, Any], exact: bool) -> bool:
    if exact:
        return actual == wanted
    return all(k in actual and actual[k] == v for k, v in wanted.items())


def _fits(call: ToolCallView, want: Any) -> bool:
    return call.name == want.name and _args_match(call.args, want.args, want.exact)


def _show(want: Any) -> str:
    return f"{want.name}{want.args or ''}"


def _call(call: ToolCallView) -> str:
    return f"{call.name}({json.dumps(call.args, default=repr)})"


def _most(want: Any) -> int:
    """In exact and sequence modes an expectation stands for `min` calls unless `max` says more."""
    return max(want.min, want.max if want.max is not None else want.min)


def _subset(calls: list[ToolCallView], expected: list[Any], ordered: bool) -> list[str]:
    """Each expected call happened within its count limits (in order if `ordered`);
    other calls are allowed."""
    problems, cursor = [], 0
    for want in expected:
        matching = [i for i, c in enumerate(calls) if _fits(c, want)]
        if len(matching) < want.min or (want.max is not None and len(matching) > want.max):
            if want.max == 0:
                wanted = "expected none"
            elif want.max is None:
                wanted = f"expected at least {want.min}"
            else:
                wanted = f"expected {want.min} to {want.max}"
            problems.append(f"{_show(want)}: {len(matching)} call(s), {wanted}")
        elif ordered and want.min > 0:
            later = [i for i in matching if i >= cursor]
            if not later:
                problems.append(f"{want.name} came before an earlier expected call")
            else:
                cursor = later[0] + 1
    return problems


def _augment(
    v: int, edges: list[list[int]], mine: dict[int, int], theirs: dict[int, int], seen: set[int]
) -> bool:
    """Kuhn's augmenting path from `v` (one side of a bipartite matching): `edges[v]` are its
    neighbours, `mine` maps this side to the other and `theirs` the other way."""
    for u in edges[v]:
        if u not in seen:
            seen.add(u)
            if u not in theirs or _augment(theirs[u], edges, mine, theirs, seen):
                mine[v], theirs[u] = u, v
                return True
    return False


def _exact(calls: list[ToolCallView], expected: list[Any]) -> list[str]:
    """The calls are the expected ones and no others, as a multiset: every call is assigned
    to one expectation, each expectation gets between `min` and its most calls. The assignment
    is a bipartite matching (calls x expectation slots), so overlapping expectations cannot
    make a good trajectory fail."""
    slots = [(k, n < w.min) for k, w in enumerate(expected) for n in range(_most(w))]
    fit = [[i for i, c in enumerate(calls) if _fits(c, expected[k])] for k, _ in slots]
    fit_of = [[s for s in range(len(slots)) if i in fit[s]] for i in range(len(calls))]
    call_in: dict[int, int] = {}  # slot -> call
    slot_of: dict[int, int] = {}  # call -> slot

    # required slots first; augmenting paths never unmatch a matched slot or call after that
    for s, (_, required) in enumerate(slots):
        if required:
            _augment(s, fit, call_in, slot_of, set())
    for i in range(len(calls)):
        if i not in slot_of:
            _augment(i, fit_of, slot_of, call_in, set())
    problems = []
    for k, want in enumerate(expected):
        got = sum(1 for s in call_in if slots[s][0] == k)
        if got < want.min:
            problems.append(f"{_show(want)}: {got} call(s), expected {want.min}")
    extra = [_call(c) for i, c in enumerate(calls) if i not in slot_of]
    if extra:
        problems.append(f"calls not expected (or more often than expected): {', '.join(extra)}")
    return problems


def _sequence(calls: list[ToolCallView], expected: list[Any]) -> list[str]:
    """The calls are exactly the expected ones in the expected order (each expectation
    matching between `min` and its most consecutive calls)."""
    reach, furthest = {0}, 0
    for k, want in enumerate(expected):
        after: set[int] = set()
        for at in reach:
            n = 0
            while True:
                if n >= want.min:
                    after.add(at + n)
                if n == _most(want) or at + n >= len(calls) or not _fits(calls[at + n], want):
                    break
                n += 1
        if not after:
            got = _call(calls[furthest]) if furthest < len(calls) else "no more calls"
            return [f"expected call {k + 1}, {_show(want)}, at position {furthest + 1}: got {got}"]
        reach, furthest = after, max(after)
    if len(calls) not in reach:
        rest = ", ".join(_call(c) for c in calls[furthest:])
        return [f"calls not expected after the expected sequence: {rest}"]
    return []


@judge(
    "expected-tool-calls",
    "check",
    reads=["expectations.tool_calls", "expectations.tool_call_mode", "expectations.read_only"],
)
def expected_tool_calls(
    view: TraceView,
    scenario: Any,
    mode: Literal["subset", "exact", "sequence"] | None = None,
    ordered: bool = False,
    only_successful: bool | None = None,
    ignore: list[str] | None = None,
    read_only: list[str] | None = None,
) -> Outcome:
    """The scenario's expected tool calls against the calls made. `mode` (the scenario's
    `tool_call_mode` wins): subset (the expected calls happened, others allowed; in order if
    `ordered`), exact (those calls and no other, duplicates counted) or sequence (exact, in
    order). Arguments match as a subset unless the expectation is exact. Tools in `ignore`
    and `read_only` (the project's `read_only` setting, plus the scenario's) are left out of
    both sides. With `only_successful`, calls whose result was an error do not count; by
    default that holds once read-only tools are declared, since every other tool then changes
    state (a declined refund changed nothing); with no declaration errored calls count."""
    exp = scenario.expectations if scenario else None
    if exp is None or not (exp.tool_calls or exp.tool_call_mode):
        return skip("the scenario expects no tool calls")
    mode = exp.tool_call_mode or mode or "subset"
    reads = {*(read_only or []), *exp.read_only}
    left_out = {*(ignore or []), *reads}
    if only_successful is None:
        only_successful = bool(reads)
    expected = [w for w in exp.tool_calls if w.name not in left_out]
    calls = [
        c
        for c in view.tool_calls()
        if c.name not in left_out and not (only_successful and c.error is not None)
    ]
    if not expected and mode == "subset":
        return skip(f"only calls of read-only or ignored tools are expected ({sorted(left_out)})")
    if mode == "exact":
        problems = _exact(calls, expected)
    elif mode == "sequence":
        problems = _sequence(calls, expected)
    else:
        problems = _subset(calls, expected, ordered)
    evidence = [c.span_id for c in calls if any(_fits(c, w) for w in expected)]
    if problems:
        seen = ", ".join(_call(c) for c in calls) or "none"
        return Outcome(
            passed=False,
            rationale=f"{mode}: " + "; ".join(problems) + f". Calls compared: {seen}",
            evidence=evidence or [c.span_id for c in calls],
        )
    return Outcome(
        passed=True,
        rationale=f"{mode}: all {len(expected)} expected tool calls seen"
        + ("" if mode == "subset" else ", and no other"),
        evidence=evidence,
    )


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@judge("expected-facts", "check", reads=["expectations.facts"])
def expected_facts(view: TraceView, scenario: Any) -> Outcome:
    """Every expected fact appears in the agent's replies (case and spacing ignored)."""
    facts = scenario.expectations.facts if scenario else []
    if not facts:
        return skip("the scenario expects no facts")
    said = _norm(" ".join(_text(r) for r in view.replies))
    missing = [f for f in facts if _norm(f) not in said]
    evidence = [s.span_id for s in view.turn_spans()] or [view.root.span_id]
    if missing:
        return Outcome(passed=False, rationale=f"replies never state: {missing}", evidence=evidence)
    return Outcome(passed=True, rationale=f"all {len(facts)} facts stated", evidence=evidence)


@judge("tool-sequence", "check", reads=[])
def tool_sequence(
    view: TraceView,
    scenario: Any,
    before: list[list[str]] | None = None,
    forbidden: list[str] | None = None,
    max_calls: dict[str, int] | None = None,
    no_repeated_failures: bool = True,
) -> Outcome:
    """Rules on the order of tool calls: `before` pairs [A, B] mean A must come before any B;
    forbidden tools; at most N calls of a tool; no identical failing call repeated."""
    calls = view.tool_calls()
    names = [c.name for c in calls]
    problems, evidence = [], []
    for first, then in before or []:
        if then in names:
            at = names.index(then)
            if first not in names[:at]:
                problems.append(f"{then} was called before any {first}")
                evidence.append(calls[at].span_id)
    for name in forbidden or []:
        hits = [c for c in calls if c.name == name]
        if hits:
            problems.append(f"forbidden tool {name} called {len(hits)} time(s)")
            evidence += [c.span_id for c in hits]
    for name, limit in (max_calls or {}).items():
        if names.count(name) > limit:
            problems.append(f"{name} called {names.count(name)} times (at most {limit})")
    if no_repeated_failures:
        seen: set[str] = set()
        for c in calls:
            if c.error is None:
                continue
            key = f"{c.name}:{json.dumps(c.args, sort_keys=True, default=repr)}"
            if key in seen:
                problems.append(f"failing call repeated: {c.name}({json.dumps(c.args)})")
                evidence.append(c.span_id)
            seen.add(key)
    if problems:
        return Outcome(passed=False, rationale="; ".join(problems), evidence=evidence)
    return Outcome(passed=True, rationale=f"{len(calls)} tool calls follow the rules")


def _rebuild(tables: dict[str, Any]) -> sqlite3.Connection:
    """An in-memory database from snapshot tables (schema and rows)."""
    conn = sqlite3.connect(":memory:")
    for name, table in tables.items():
        if "rows" not in table:
            conn.close()
            raise ValueError(
                f"table {name} has {table['row_count']} rows, too many to snapshot "
                "in full; assert on its row_count or hash instead"
            )
        conn.execute(table["schema"])
        if table["rows"]:
            marks = ", ".join("?" for _ in table["rows"][0])
            conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', table["rows"])
    return conn


@judge("final-state", "check", reads=["expectations.artifacts", "expectations.state"])
def final_state(view: TraceView, scenario: Any) -> Outcome:
    """The scenario's expected artifacts and database state hold in the final-state snapshot."""
    import jsonschema

    exp = scenario.expectations if scenario else None
    if exp is None or not (exp.artifacts or exp.state):
        return skip("the scenario expects no artifacts or state")
    if view.snapshot is None:
        return Outcome(passed=False, rationale="the trace has no final-state snapshot")
    problems = []
    for art in exp.artifacts:
        entry = view.file(art.path)
        if entry is None:
            problems.append(f"missing file {art.path}")
            continue
        text = entry.get("text")
        if (art.regex or art.json_schema) and text is None:
            problems.append(f"{art.path} is binary or too large to check")
            continue
        if art.regex and not re.search(art.regex, text or ""):
            problems.append(f"{art.path} does not match /{art.regex}/")
        if art.json_schema:
            try:
                jsonschema.validate(json.loads(text or ""), art.json_schema)
            except (json.JSONDecodeError, jsonschema.ValidationError) as exc:
                problems.append(f"{art.path}: {getattr(exc, 'message', exc)}")
    for assertion in exp.state:
        try:
            conn = _rebuild(view.tables(assertion.db))
            try:
                rows = [list(r) for r in conn.execute(assertion.sql).fetchall()]
            finally:
                conn.close()
        except (KeyError, ValueError, sqlite3.Error) as exc:
            problems.append(f"{assertion.sql!r}: {exc}")
            continue
        if rows != assertion.rows:
            problems.append(f"{assertion.sql!r} returned {rows}, expected {assertion.rows}")
    evidence = [s.span_id for s in view.spans_of(name="final_state")]
    if problems:
        return Outcome(passed=False, rationale="; ".join(problems), evidence=evidence)
    checked = len(exp.artifacts) + len(exp.state)
    return Outcome(
        passed=True, rationale=f"{checked} final-state expectations hold", evidence=evidence
    )


@judge("table-schema", "check", reads=[])
def table_schema(
    view: TraceView, scenario: Any, table: str, columns: dict[str, str], db: str | None = None
) -> Outcome:
    """A final-state table has the expected columns and types."""
    tables = view.tables(db)
    if table not in tables:
        return Outcome(passed=False, rationale=f"no table {table!r} (has {sorted(tables)})")
    actual = {name: kind for name, kind in tables[table]["columns"]}
    wrong = {
        k: actual.get(k) for k, v in columns.items() if (actual.get(k) or "").upper() != v.upper()
    }
    if wrong:
        return Outcome(passed=False, rationale=f"columns differ: expected {columns}, have {actual}")
    return Outcome(passed=True, rationale=f"{table} has the expected columns")
