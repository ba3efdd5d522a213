"""Draft scenario files: written only when they load, never over a file a person may have
reviewed, and accepted into the suite by a person (`costar scenario accept`).

A draft is a scenario file with `draft: true`, `source: generated` and the tag `generated`. The
suite loader validates drafts but leaves them out of runs until they are accepted, and the gate
never gates them. Every candidate is validated by the suite's own loader (schema, fixture paths
inside the suite) at the place it will live, before it is kept; one that does not load is
rejected with its reason and counted, never written as valid.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from costar._exceptions import ScenarioError, UsageError
from costar._input import parse_yaml, read_text
from costar.scenarios import LoadedScenario, load_file, load_suite

# the tag on every generated draft scenario
GENERATED_TAG = "generated"
DRAFTS_FOLDER = "generated"  # under the suite folder
_DRAFT_LINE = re.compile(r"^draft:\s*(true|yes|on)?\s*(#.*)?$", re.I)


@dataclass
class Rejected:
    """A candidate that was not written, and why."""

    id: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "reason": self.reason}


@dataclass
class Written:
    """A draft scenario file that was written (or kept, when it existed already)."""

    id: str
    path: Path
    origin: str  # spec | traces
    written: bool = True  # False: a file of that name existed and was kept
    detail: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": str(self.path),
            "origin": self.origin,
            "written": self.written,
            **self.detail,
        }


def scenario_yaml(data: dict[str, Any], comments: list[str] | None = None) -> str:
    """A draft's YAML text: comment lines first, then the fields in a readable order."""
    head = [f"# {line}".rstrip() for line in comments or []]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join([*head, body.rstrip()]) + "\n"


def draft_fields(data: dict[str, Any], extra_tags: list[str] | None = None) -> dict[str, Any]:
    """The scenario data marked as a generated draft: tag `generated`, source, draft."""
    tags = [GENERATED_TAG] + [t for t in [*(extra_tags or []), *data.get("tags", [])] if t]
    data = {**data, "tags": list(dict.fromkeys(tags)), "source": "generated", "draft": True}
    order = ["id", "description", "tags", "draft", "source", "setup", "input", "expectations"]
    return {k: data[k] for k in order if k in data} | {
        k: v for k, v in data.items() if k not in order
    }


def unique_id(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`... when a scenario of the suite has that id."""
    sid, n = wanted, 2
    while sid in taken:
        sid, n = f"{wanted}-{n}", n + 1
    taken.add(sid)
    return sid


def slug(text: str, limit: int = 40) -> str:
    """An id-safe slug of `text`: lower-case words joined by '-'."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    out = "-".join(words)[:limit].strip("-")
    return out or "scenario"


def validate_draft(text: str, path: Path, suite_root: Path, confine: bool = True) -> list[str]:
    """Problems of a draft's text if it were the file `path` (none: it loads as a draft)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".costar-draft-", suffix=".yaml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        loaded, problems, _ = load_file(Path(tmp), suite_root.resolve() if confine else None)
    finally:
        os.unlink(tmp)
    problems = [p.replace(tmp, str(path)) for p in problems]
    if not problems and (len(loaded) != 1 or not loaded[0].scenario.draft):
        problems.append(f"{path}: a draft holds exactly one scenario with draft: true")
    return problems


def write_draft(
    sid: str,
    text: str,
    folder: Path,
    suite_root: Path,
    origin: str,
    detail: dict[str, Any] | None = None,
    confine: bool = True,
    force: bool = False,
) -> Written | Rejected:
    """Validate, then write `folder/ID.yaml`; an existing file is kept unless `force`."""
    path = folder / f"{sid}.yaml"
    problems = validate_draft(text, path, suite_root, confine)
    if problems:
        return Rejected(sid, "; ".join(problems)[:500])
    if path.exists() and not force:
        return Written(sid, path, origin, written=False, detail=detail or {})
    path.write_text(text, encoding="utf-8")
    return Written(sid, path, origin, detail=detail or {})


@dataclass
class Accepted:
    """What `costar scenario accept` did with one file."""

    id: str
    path: Path
    accepted: bool  # False: it was not a draft
    scenario: LoadedScenario | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "path": str(self.path), "accepted": self.accepted}


def _targets(names: list[str], suite: Path, allow_outside: bool) -> list[Path]:
    paths: list[Path] = []
    ids: list[str] = []
    for name in names:
        (paths if Path(name).suffix in (".yaml", ".yml") else ids).append(name)  # type: ignore[arg-type]
    found = [Path(p) for p in paths]
    for p in found:
        if not p.is_file():
            raise UsageError(f"{p}: no such scenario file (name a draft's path or its id)")
    if ids:
        every = load_suite(suite, allow_outside_fixtures=allow_outside, include_drafts=True)
        by_id = {s.id: s.path for s in every.scenarios}
        missing = [i for i in ids if i not in by_id]
        if missing:
            raise UsageError(
                f"no scenario {missing[0]!r} in {suite} (name a draft's path or its id; "
                "`costar scenario generate` writes drafts under SUITE/generated/)"
            )
        found += [by_id[i] for i in ids]
    return found


def accept(names: list[str], suite: Path, allow_outside: bool = False) -> list[Accepted]:
    """Accept draft scenarios (by path or id): remove their `draft: true` line, keep every other
    line (comments included), and check that each still loads. The `generated` tag and
    `source: generated` stay, so where a scenario came from is never lost."""
    done: list[Accepted] = []
    for path in dict.fromkeys(_targets(names, suite, allow_outside)):
        text = read_text(path)
        lines = text.splitlines(keepends=True)
        drop: list[int] = []
        for i, document in enumerate(parse_yaml(text, path)):
            data = document.data
            if isinstance(data, dict) and data.get("draft") is True:
                line = document.marks.get(("draft", "<key>"), (0, 0))[0]
                if not line or not _DRAFT_LINE.match(lines[line - 1].strip()):
                    raise UsageError(
                        f"{path}:{line or 1}: cannot find the 'draft: true' line of document "
                        f"{i + 1} (put it on a line of its own, or delete it by hand)"
                    )
                drop.append(line - 1)
        if not drop:
            loaded, problems, _ = load_file(path)
            sid = loaded[0].id if loaded else path.stem
            done.append(Accepted(sid, path, accepted=False))
            continue
        new = "".join(line for i, line in enumerate(lines) if i not in drop)
        confine = None if allow_outside else suite.resolve()
        tmp = path.with_name(f".{path.name}.accept")
        tmp.write_text(new, encoding="utf-8")
        loaded, problems, _ = load_file(tmp, confine)
        if problems:
            tmp.unlink()
            raise ScenarioError([p.replace(str(tmp), str(path)) for p in problems])
        os.replace(tmp, path)
        loaded, _, _ = load_file(path, confine)
        for item in loaded:
            done.append(Accepted(item.id, path, accepted=True, scenario=item))
    return done
