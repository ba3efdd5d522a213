"""Reading every file a user hands costar: one reader per format, one kind of error.

Scenarios, judges YAML, gate policies, fake-LLM scripts, costar.toml, label files and import
files all come through here. Whatever is wrong with a file (too big, not UTF-8, bad syntax,
hostile YAML) becomes an `InputError` whose message is one line,
`path:line[:col]: what (how to fix)`, with any echoed input clipped to a short excerpt.

YAML is read with safe constructors only, and more strictly than `yaml.safe_load`:
- tags other than the plain ones (str, int, float, bool, null, timestamp, map, seq) are an error,
  so `!!python/...`, `!foo`, `!!binary` and `!!set` never construct anything; `%TAG` directives
  are refused; dates stay text (`2024-01-01` is a string, not a date object);
- merge keys (`<<`), non-scalar keys and duplicate keys are errors;
- aliases may not expand past `MAX_NODES` nodes in total (a few hundred bytes of nested aliases
  would otherwise expand to billions) and may not refer to themselves;
- nesting is bounded by `MAX_DEPTH`, the file by `MAX_BYTES`;
- control characters YAML does not allow (C0 other than tab and newlines, C1 other than NEL)
  are reported with their position.
Every value's position is kept (`Document.marks`) for messages that point into the file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from costar._exceptions import InputError

MAX_BYTES = 8 * 1024 * 1024  # the largest input file read
MAX_DEPTH = 64  # nesting of mappings and lists
MAX_NODES = 200_000  # YAML nodes after alias expansion
EXCERPT = 40  # characters of user input quoted in a message

Pos = tuple[int, int]  # 1-based line and column
_Y = "tag:yaml.org,2002:"
_PLAIN_TAGS = {f"{_Y}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_BAD_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


def clip(text: str, limit: int = EXCERPT) -> str:
    """`text` on one line (non-printable characters escaped), at most `limit` characters."""
    text = text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def excerpt(value: Any, limit: int = EXCERPT) -> str:
    """A short, quoted, one-line excerpt of user input for an error message."""
    return repr(clip(value if isinstance(value, str) else repr(value), limit))


def where(path: Path | str, line: int | None = None, col: int | None = None) -> str:
    """`path`, `path:line` or `path:line:col`."""
    return ":".join(str(p) for p in (path, line, col) if p is not None)


# -- bytes and text ------------------------------------------------------------------------


def read_bytes(path: Path, max_bytes: int = MAX_BYTES) -> bytes:
    """A file's bytes, refusing missing, unreadable and oversized files."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(
                f"{path}: file too large ({size:,} bytes; the limit is {max_bytes:,}; "
                "split it or move large content into fixture files)"
            )
        return path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InputError(f"{path}: cannot read the file: {reason} (check the path)") from exc


def decode(data: bytes, path: Path | str) -> str:
    """UTF-8 text (a leading BOM dropped); a non-UTF-8 byte is reported by line and column."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        col = exc.start - (before.rfind(b"\n") + 1) + 1
        raise InputError(
            f"{where(path, line, col)}: not UTF-8 text (byte 0x{data[exc.start]:02x}; "
            "save the file as UTF-8)"
        ) from exc


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """A file as UTF-8 text, or an InputError that says where it is not."""
    return decode(read_bytes(path, max_bytes), path)


def _position(text: str, index: int) -> Pos:
    before = text[:index]
    return before.count("\n") + 1, index - (before.rfind("\n") + 1) + 1


def check_depth(data: Any, path: Path | str, line: int | None = None) -> Any:
    """`data` unchanged, unless its nesting exceeds MAX_DEPTH (checked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(
                f"{where(path, line)}: nested deeper than {MAX_DEPTH} levels (flatten the data)"
            )
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
    return data


# -- JSON, JSON lines, TOML, CSV -----------------------------------------------------------


def _valid_unicode(data: Any, loc: str) -> Any:
    """`data` unchanged, unless a string in it holds an unpaired surrogate (`"\\ud800"`),
    which is not Unicode and cannot be stored."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{loc}: a string holds an unpaired surrogate escape "
            f"(U+{ord(exc.object[exc.start]):04X} is not a character; fix or remove the escape)"
        ) from exc
    return data


def _json(text: str, path: Path | str, line_offset: int = 0) -> Any:
    try:
        data = check_depth(json.loads(text), path, line_offset or None)
        return _valid_unicode(data, where(path, line_offset or None))
    except json.JSONDecodeError as exc:
        line = exc.lineno + line_offset - (1 if line_offset else 0)
        raise InputError(f"{where(path, line, exc.colno)}: not JSON: {exc.msg} (fix it)") from exc
    except RecursionError as exc:
        raise InputError(
            f"{where(path, line_offset or None)}: nested too deeply (flatten the data)"
        ) from exc


def load_json(path: Path) -> Any:
    """One JSON document."""
    return _json(read_text(path), path)


def load_jsonl(path: Path) -> list[tuple[int, Any]]:
    """(line number, value) for each non-blank line of a JSON-lines file."""
    text = read_text(path)
    return [
        (n, _json(line, path, n)) for n, line in enumerate(text.splitlines(), 1) if line.strip()
    ]


def load_toml(path: Path) -> dict[str, Any]:
    """A TOML document."""
    text = read_text(path)
    try:
        return check_depth(tomllib.loads(text), path)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)", str(exc))
        what = str(exc).split(" (at ")[0]
        loc = where(path, int(found[1]), int(found[2])) if found else str(path)
        raise InputError(f"{loc}: invalid TOML: {what} (fix the syntax)") from exc
    except RecursionError as exc:
        raise InputError(f"{path}: nested too deeply (flatten the data)") from exc


def load_csv(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) for each data row of a CSV file with a header row."""
    text = read_text(path)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        return [(reader.line_num, dict(row)) for row in reader]
    except csv.Error as exc:
        raise InputError(f"{where(path, reader.line_num)}: invalid CSV: {exc} (fix it)") from exc


# -- YAML ----------------------------------------------------------------------------------


@dataclass
class Document:
    """One YAML document: its plain data and the position of each value (by its path of keys
    and indexes; `(*path, "<key>")` is the position of a mapping key itself)."""

    data: Any
    marks: dict[tuple[Any, ...], Pos] = field(default_factory=dict)

    def pos(self, *path: Any, default: Pos = (1, 1)) -> Pos:
        return self.marks.get(path, default)


class _Loader(yaml.SafeLoader):
    """SafeLoader's scanner and parser; a composer that bounds depth and refuses %TAG."""

    def __init__(self, stream: str, path: str):
        super().__init__(stream)
        self.path = path
        self.depth = 0

    def fail(self, mark: Any, what: str) -> None:
        raise InputError(f"{where(self.path, mark.line + 1, mark.column + 1)}: {what}")

    def process_directives(self) -> Any:
        mark = self.peek_token().start_mark
        version, tags = super().process_directives()
        if tags:
            self.fail(mark, "%TAG directives are not supported (remove it and the custom tags)")
        return version, tags

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(
                self.peek_event().start_mark,
                f"nested deeper than {MAX_DEPTH} levels (flatten the data)",
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _expanded_size(root: yaml.Node, path: str) -> int:
    """Nodes after alias expansion, counted once per shared node; refuses cycles."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children: list[yaml.Node] = []
        if isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        if done:
            active.discard(key)
            sizes[key] = min(1 + sum(sizes[id(c)] for c in children), MAX_NODES + 1)
            continue
        if key in sizes:
            continue
        if key in active:
            m = node.start_mark
            raise InputError(
                f"{where(path, m.line + 1, m.column + 1)}: an alias refers to the node that "
                "contains it (recursive aliases are not supported; copy the value instead)"
            )
        active.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
    return sizes[id(root)]


def _unknown_tag(loc: str, tag: str) -> InputError:
    shown = "!!" + tag.removeprefix(_Y) if tag.startswith(_Y) else tag
    return InputError(
        f"{loc}: unknown tag {excerpt(shown, 60)} (costar reads plain YAML only; remove the tag)"
    )


def _construct(node: yaml.Node, path: str, at: tuple[Any, ...], marks: dict) -> Any:
    m = node.start_mark
    pos = (m.line + 1, m.column + 1)
    marks[at] = pos
    loc = where(path, *pos)
    if isinstance(node, yaml.MappingNode):
        if node.tag != f"{_Y}map":
            raise _unknown_tag(loc, node.tag)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            k = key_node.start_mark
            key_loc = where(path, k.line + 1, k.column + 1)
            if key_node.tag == f"{_Y}merge":
                raise InputError(f"{key_loc}: merge keys ('<<') are not supported (write it out)")
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError(f"{key_loc}: a key must be a plain value, not a list or mapping")
            key = _construct(key_node, path, (), {})  # a key's own mark is set below
            if key in out:
                line = marks[(*at, key, "<key>")][0]
                raise InputError(
                    f"{key_loc}: duplicate key {excerpt(key)} (also on line {line}; keep one)"
                )
            marks[(*at, key, "<key>")] = (k.line + 1, k.column + 1)
            out[key] = _construct(value_node, path, (*at, key), marks)
        return out
    if isinstance(node, yaml.SequenceNode):
        if node.tag != f"{_Y}seq":
            raise _unknown_tag(loc, node.tag)
        return [_construct(c, path, (*at, i), marks) for i, c in enumerate(node.value)]
    if node.tag not in _PLAIN_TAGS:
        raise _unknown_tag(loc, node.tag)
    if node.tag == f"{_Y}timestamp":  # dates stay text: no costar field wants a datetime
        return _valid_unicode(node.value, loc)
    try:
        value = yaml.constructor.SafeConstructor().construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:
        raise InputError(f"{loc}: invalid {node.tag.rsplit(':', 1)[-1]} value (fix it)") from exc
    return _valid_unicode(value, loc) if isinstance(value, str) else value


def _yaml_error(exc: yaml.YAMLError, text: str, path: str) -> InputError:
    if isinstance(exc, yaml.reader.ReaderError):
        line, col = _position(text, exc.position)
        return InputError(
            f"{where(path, line, col)}: control character U+{exc.character:04X} is not allowed "
            '(remove it, or write it as an escape such as "\\x85" in a double-quoted string)'
        )
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    loc = where(path, mark.line + 1, mark.column + 1) if mark else path
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return InputError(f"{loc}: invalid YAML: {problem} (fix the syntax)")


def parse_yaml(text: str, path: Path | str = "<yaml>") -> list[Document]:
    """Every document of YAML text, read safely (see the module docstring)."""
    name = str(path)
    found = _BAD_CHAR.search(text)
    if found:
        line, col = _position(text, found.start())
        raise InputError(
            f"{where(name, line, col)}: control character U+{ord(found[0]):04X} is not allowed "
            "(remove it, or write it as an escape in a double-quoted string)"
        )
    loader = _Loader(text, name)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            if _expanded_size(node, name) > MAX_NODES:
                m = node.start_mark
                raise InputError(
                    f"{where(name, m.line + 1, m.column + 1)}: aliases expand to more than "
                    f"{MAX_NODES:,} values (write the data out instead of nesting aliases)"
                )
            doc = Document(None)
            doc.data = _construct(node, name, (), doc.marks)
            check_depth(doc.data, name, node.start_mark.line + 1)  # aliases can deepen it
            docs.append(doc)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, text, name) from exc
    except RecursionError as exc:
        raise InputError(f"{name}: nested too deeply (flatten the data)") from exc
    finally:
        loader.dispose()
    return docs


def yaml_document(text: str, path: Path | str = "<yaml>") -> Document:
    """The single document of YAML text (data None when empty), with positions."""
    docs = parse_yaml(text, path)
    if len(docs) > 1:
        raise InputError(f"{where(path, docs[1].pos()[0])}: more than one YAML document (keep one)")
    return docs[0] if docs else Document(None)


def load_yaml(path: Path, max_bytes: int = MAX_BYTES) -> Document:
    """The single YAML document of a file, read safely, with positions."""
    return yaml_document(read_text(path, max_bytes), path)
