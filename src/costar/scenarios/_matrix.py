"""Matrix scenarios: one file expanded into one scenario per combination of values.

```yaml
id: refund-{item}            # the values go into the id (appended when it names none)
matrix:
  item: [kettle, toaster]    # a mapping of lists: every combination ...
  days: [5, 40]
# matrix: [{item: kettle, days: 5}, {item: toaster, days: 40}]   # ... or exactly these rows
input: "My {item} arrived broken {days} days ago."
expectations:
  tool_calls: [{name: issue_refund, args: {days: "{days}"}}]   # "{days}" alone stays a number
```

Substitution happens in every field but `id` (rendered on its own) and `version`, in mapping
keys too: `{name}` takes the value, `{{name}}` is a literal `{name}`, and `${name}` (shell) is
left alone. A string that is exactly one placeholder (`"{days}"`, or the unquoted YAML `{days}`,
which YAML reads as a mapping) takes the value with its type, so a number stays a number.
Inside a matrix scenario a `{name}` that is not a matrix variable is an error, so a typo cannot
run as literal text. Each expanded scenario records its values in `variant`; its hash and the
verdicts that read it see the expanded text, as for any other scenario.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from costar._input import clip, excerpt
from costar.scenarios._model import ID_PATTERN

MAX_VARIANTS = 1_000  # scenarios one matrix may expand into
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PLACE = re.compile(r"(?<!\$)\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}|(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_SCALARS = (str, int, float, bool, type(None))
_SKIP = {"id", "matrix", "version"}

Pos = tuple[int, int]


@dataclass(frozen=True)
class Variant:
    """One expanded scenario document and the matrix values it was made with."""

    data: dict[str, Any]
    values: dict[str, Any]

    def label(self, exact: bool = False) -> str:
        """The values as `name=value, ...`, for messages; `exact` quotes texts (`"1"`, not 1)."""
        show = (lambda v: json.dumps(v)) if exact else _format
        return ", ".join(f"{k}={show(v)}" for k, v in self.values.items())


def _format(value: Any) -> str:
    """A value as it reads inside text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _slug(value: Any) -> str:
    """A value as it goes into an id: characters an id may not hold become '_'."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", _format(value)) or "_"


class _Problems:
    def __init__(self, file: Path, marks: dict[tuple[Any, ...], Pos], base: tuple[Any, ...]):
        self.file, self.marks, self.base = file, marks, base
        self.lines: list[str] = []

    def at(self, loc: tuple[Any, ...], message: str) -> None:
        line, col = self.marks.get((*self.base, *loc)) or self.marks.get(self.base, (1, 1))
        text = f"{self.file}:{line}:{col}: {message}"
        if text not in self.lines:
            self.lines.append(text)


def _rows(spec: Any, problems: _Problems) -> list[dict[str, Any]]:
    """The combinations a matrix spec stands for; problems are added for a bad spec."""
    fix = (
        "(write a mapping of value lists, such as {item: [kettle, toaster]}, "
        "or a list of rows, such as [{item: kettle}, {item: toaster}])"
    )
    if isinstance(spec, dict) and spec:
        for name, values in spec.items():
            if not isinstance(name, str) or not _NAME.match(name):
                problems.at(
                    ("matrix", name, "<key>"),
                    f"matrix variable {excerpt(name)} is "
                    "not a name (letters, digits and '_', not starting with a digit)",
                )
            elif not isinstance(values, list) or not values:
                problems.at(("matrix", name), f"matrix.{name} must be a non-empty list of values")
            else:
                for i, value in enumerate(values):
                    if not isinstance(value, _SCALARS):
                        problems.at(
                            ("matrix", name, i),
                            f"matrix.{name}[{i}] must be a text, "
                            "number, true/false or null (not a list or mapping)",
                        )
                    elif any(type(v) is type(value) and v == value for v in values[:i]):
                        problems.at(
                            ("matrix", name, i),
                            f"matrix.{name} lists {excerpt(_format(value))} twice (remove one)",
                        )
        if problems.lines:
            return []
        count = 1
        for values in spec.values():
            count *= len(values)
        if count > MAX_VARIANTS:
            problems.at(
                ("matrix",),
                f"the matrix expands into {count:,} scenarios (at most "
                f"{MAX_VARIANTS:,}; list the rows you need instead)",
            )
            return []
        names = list(spec)
        return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*spec.values())]
    if isinstance(spec, list) and spec:
        if len(spec) > MAX_VARIANTS:
            problems.at(
                ("matrix",), f"the matrix has {len(spec):,} rows (at most {MAX_VARIANTS:,})"
            )
            return []
        first = spec[0] if isinstance(spec[0], dict) else {}
        for i, row in enumerate(spec):
            if not isinstance(row, dict) or not row:
                problems.at(("matrix", i), f"matrix[{i}] must be a mapping of name: value {fix}")
            elif set(row) != set(first):
                problems.at(
                    ("matrix", i),
                    f"matrix[{i}] names {sorted(map(str, row))}, the "
                    f"first row {sorted(map(str, first))} (every row names the same)",
                )
            else:
                for name, value in row.items():
                    if not isinstance(name, str) or not _NAME.match(name):
                        problems.at(
                            ("matrix", i, name, "<key>"),
                            f"matrix variable {excerpt(name)} is not a name",
                        )
                    elif not isinstance(value, _SCALARS):
                        problems.at(
                            ("matrix", i, name),
                            f"matrix[{i}].{name} must be a text, number, true/false or null",
                        )
        return [] if problems.lines else [dict(row) for row in spec]
    problems.at(("matrix",), f"'matrix' is empty or of the wrong shape {fix}")
    return []


class _Substitution:
    """Placeholders of one combination substituted into a document."""

    def __init__(self, values: dict[str, Any], problems: _Problems):
        self.values, self.problems = values, problems
        self.used: set[str] = set()

    def text(self, text: str, loc: tuple[Any, ...]) -> str:
        def one(match: re.Match[str]) -> str:
            if match[1] is not None:  # {{name}}: a literal {name}
                return "{" + match[1] + "}"
            name = match[2]
            if name not in self.values:
                self.problems.at(
                    loc,
                    f"{{{name}}} is not a matrix variable (the matrix has "
                    f"{', '.join(self.values)}; write {{{{{name}}}}} for the "
                    "literal text)",
                )
                return match[0]
            self.used.add(name)
            return _format(self.values[name])

        return _PLACE.sub(one, text)

    def value(self, value: Any, loc: tuple[Any, ...]) -> Any:
        if isinstance(value, str):
            whole = _WHOLE.match(value)
            if whole and whole[1] in self.values:
                self.used.add(whole[1])
                return self.values[whole[1]]
            return self.text(value, loc)
        if isinstance(value, dict):
            if len(value) == 1:  # unquoted `{name}` in YAML is the mapping {name: null}
                (key, inner), *_ = value.items()
                if inner is None and key in self.values:
                    self.used.add(key)
                    return self.values[key]
            out: dict[Any, Any] = {}
            for key, inner in value.items():
                new_key = self.text(key, (*loc, key, "<key>")) if isinstance(key, str) else key
                if new_key in out:
                    self.problems.at(
                        (*loc, key, "<key>"),
                        f"two keys become {excerpt(new_key)} "
                        "for one combination (put another variable in the key)",
                    )
                out[new_key] = self.value(inner, (*loc, key))
            return out
        if isinstance(value, list):
            return [self.value(inner, (*loc, i)) for i, inner in enumerate(value)]
        return value


def _ids(template: str, rows: list[dict[str, Any]], problems: _Problems) -> list[str]:
    named = [m[2] for m in _PLACE.finditer(template) if m[2] is not None]
    unknown = [n for n in named if n not in rows[0]]
    rest = _PLACE.sub(lambda m: "{" if m[1] else "", template)  # an id holds no braces
    if unknown or "{" in rest or "}" in rest:
        what = f"{{{unknown[0]}}} is not a matrix variable" if unknown else "stray '{' or '}'"
        problems.at(
            ("id",),
            f"id {excerpt(template)}: {what} (name matrix variables as "
            f"{{name}}: {', '.join(rows[0])})",
        )
        return []
    if not named:
        return [template + "-" + "-".join(_slug(v) for v in row.values()) for row in rows]
    return [_render_id(template, row) for row in rows]


def _render_id(template: str, row: dict[str, Any]) -> str:
    return _PLACE.sub(lambda m: _slug(row[m[2]]), template)


def expand(
    data: dict[str, Any], marks: dict[tuple[Any, ...], Pos], base: tuple[Any, ...], file: Path
) -> tuple[list[Variant], list[str]]:
    """The scenario documents a file's document stands for: itself when it has no `matrix`,
    else one per combination of the matrix's values. Problems are `file:line:col: ...` lines;
    when there are any, no variant is returned."""
    if "matrix" not in data:
        return [Variant(data, {})], []
    problems = _Problems(file, marks, base)
    rows = _rows(data["matrix"], problems)
    template = data.get("id")
    if not isinstance(template, str):
        problems.at(
            ("id",) if "id" in data else (),
            "a matrix scenario needs an id, such as 'id: refund-{item}' (the values go into it)",
        )
    if problems.lines:
        return [], problems.lines
    assert isinstance(template, str)
    ids = _ids(template, rows, problems)
    if problems.lines:
        return [], problems.lines
    variants: list[Variant] = []
    used: set[str] = set()
    for sid, row in zip(ids, rows, strict=False):
        swap = _Substitution(row, problems)
        body = {
            key: value if key in _SKIP else swap.value(value, (key,))
            for key, value in data.items()
            if key != "matrix"
        }
        used |= swap.used
        variants.append(Variant({**body, "id": sid, "variant": row}, row))
    named = {m[2] for m in _PLACE.finditer(template) if m[2]} or set(rows[0])
    for name in rows[0]:
        if name not in used and name not in named:
            problems.at(
                ("matrix",),
                f"matrix variable '{name}' is used nowhere (put {{{name}}} "
                "in the id, input, setup or expectations, or remove it)",
            )
    if problems.lines:  # an unused variable is the cause of any clash of ids it makes
        return [], problems.lines
    seen: dict[str, Variant] = {}
    clashes: list[tuple[Variant, Variant]] = []
    for variant in variants:
        sid = variant.data["id"]
        if sid in seen:
            clashes.append((seen[sid], variant))
        elif not re.match(ID_PATTERN, sid):
            problems.at(
                ("id",),
                f"the matrix makes the id {excerpt(sid, 60)}, which is not a "
                "valid id (ids start with a letter or digit; change the id template)",
            )
        seen.setdefault(sid, variant)
    if clashes:  # one line for all of them: the fix is the same
        first, second = clashes[0]
        more = f", and {len(clashes) - 1} more clashes" if len(clashes) > 1 else ""
        problems.at(
            ("id",),
            f"the matrix gives two combinations the id {excerpt(first.data['id'], 60)} "
            f"({first.label(True)} and {second.label(True)}{more}; put more of the variables "
            "in the id, or leave placeholders out of it to have every value appended)",
        )
    if problems.lines:
        return [], problems.lines
    return variants, []


def label_problem(line: str, variant: Variant, shared: bool) -> str:
    """A validation problem of one variant, naming the values unless every variant has it."""
    if shared or not variant.values:
        return line
    return f"{line} [matrix values {clip(variant.label(), 80)}]"
