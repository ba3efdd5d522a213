"""The golden set: human labels on stored traces, kept in MLflow as Feedback with source HUMAN.

A label is one person's answer for one judge on one trace: a value (pass/fail, or a number
for numeric judges), a rationale, who and when. Labelled traces also get the trace tag
`costar.labelled`, so the golden set is found with one tag search rather than a scan of the
experiment. Every label is kept; when a labeller answers twice for the same trace and judge,
the newer answer is theirs. Several labellers per trace stay separate; `consensus` combines
them and names the conflicts.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from costar._exceptions import ConfigError, InputError, NotFoundError, StoreError
from costar._input import clip, excerpt, load_csv, load_jsonl
from costar.traces import TAG_PREFIX, TraceInfo, TraceStore

LABEL_TAG = f"{TAG_PREFIX}labelled"
LabelValue = bool | int | float | str
_TRUE = {"pass", "passed", "true", "yes", "y", "1", "good"}
_FALSE = {"fail", "failed", "false", "no", "n", "0", "bad"}


class Label(BaseModel):
    """One labeller's answer for one judge on one trace."""

    trace_id: str = Field(min_length=1)
    judge: str = Field(min_length=1, description="The judge this label grades (the name).")
    value: LabelValue = Field(description="true/false for pass/fail judges, else a number.")
    rationale: str = ""
    labeller: str = Field(min_length=1)
    created_at: float = Field(default_factory=time.time, description="Unix time.")
    scenario_id: str = ""
    run_id: str = ""


def parse_value(raw: Any) -> LabelValue:
    """A label value from user input: pass/fail words become booleans, numerals numbers."""
    if isinstance(raw, bool | int | float):
        return raw
    text = str(raw).strip()
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    try:
        return float(text) if "." in text else int(text)
    except ValueError:
        if not text:
            raise ValueError("empty label value (use pass/fail or a number)") from None
        return text


class GoldenSet:
    """Read and write human labels in a trace store."""

    def __init__(self, store: TraceStore):
        self.store = store

    def add(self, labels: Iterable[Label]) -> int:
        """Record labels as MLflow Feedback (source HUMAN); returns how many were written."""
        count = 0
        tagged: set[str] = set()
        for label in labels:
            try:
                self.store.log_feedback(
                    label.trace_id,
                    label.judge,
                    label.value,
                    source_type="HUMAN",
                    source_id=label.labeller,
                    rationale=label.rationale or None,
                    metadata={"costar.created_at": repr(label.created_at)},
                )
                if label.trace_id not in tagged:
                    self.store.set_trace_tag(label.trace_id, LABEL_TAG, "true")
                    tagged.add(label.trace_id)
            except StoreError as exc:
                raise StoreError(
                    f"cannot store the label for trace {label.trace_id}: {exc.__cause__ or exc} "
                    f"({count} earlier labels were stored)"
                ) from exc
            count += 1
        return count

    def check_traces(self, labels: list[Label], source: Path | str) -> None:
        """Raise NotFoundError when a label names a trace this store does not hold (labels are
        checked before any is written, so a bad file writes nothing)."""
        wanted = list(dict.fromkeys(lb.trace_id for lb in labels))
        found = {info.trace_id for info in self._infos(wanted)}
        missing = [t for t in wanted if t not in found]
        if missing:
            raise NotFoundError(
                f"{source}: {len(missing)} labelled traces are not in this project's store, "
                f"e.g. {excerpt(missing[0])} (import labels into the project that recorded them)"
            )

    def labels(
        self, judge: str | None = None, trace_ids: Iterable[str] | None = None
    ) -> list[Label]:
        """Every current label (newest per trace, judge and labeller), optionally narrowed."""
        infos = self._labelled_infos() if trace_ids is None else self._infos(list(trace_ids))
        newest: dict[tuple[str, str, str], Label] = {}
        for info in infos:
            for label in _labels_of(info):
                if judge and label.judge != judge:
                    continue
                key = (label.trace_id, label.judge, label.labeller)
                if key not in newest or newest[key].created_at <= label.created_at:
                    newest[key] = label
        return sorted(newest.values(), key=lambda lb: (lb.created_at, lb.trace_id))

    def _infos(self, trace_ids: list[str]) -> list[TraceInfo]:
        """These traces' infos, read by id: a label saved in the UI costs one lookup, not a
        scan of the golden set."""
        try:
            return self.store.infos(trace_ids)
        except StoreError as exc:
            raise StoreError(f"cannot read labels: {exc.__cause__ or exc}") from exc

    def _labelled_infos(self) -> Iterable[TraceInfo]:
        try:
            yield from self.store.search(tags={LABEL_TAG: "true"})
        except StoreError as exc:
            raise StoreError(f"cannot read the golden set: {exc.__cause__ or exc}") from exc


def _labels_of(info: TraceInfo) -> list[Label]:
    found = []
    for a in info.assessments:
        if a.source_type != "HUMAN" or a.kind != "feedback" or not a.valid:
            continue
        created = a.metadata.get("costar.created_at")
        found.append(
            Label(
                trace_id=info.trace_id,
                judge=a.name,
                value=a.value,
                rationale=a.rationale,
                labeller=a.source_id or "unknown",
                created_at=float(created) if created else a.created_ms / 1000,
                scenario_id=info.tags.get(f"{TAG_PREFIX}scenario_id", ""),
                run_id=info.tags.get(f"{TAG_PREFIX}run_id", ""),
            )
        )
    return found


@dataclass
class Consensus:
    """What the labellers of one (trace, judge) say together."""

    trace_id: str
    judge: str
    scenario_id: str
    value: LabelValue | None  # None when the labellers conflict with no majority
    labels: list[Label] = field(default_factory=list)

    @property
    def conflict(self) -> bool:
        return len({_key(lb.value) for lb in self.labels}) > 1

    @property
    def rationale(self) -> str:
        return "; ".join(lb.rationale for lb in self.labels if lb.rationale)


def _key(value: LabelValue) -> Any:
    return round(value, 6) if isinstance(value, float) else value


def consensus(labels: Iterable[Label]) -> list[Consensus]:
    """One entry per (trace, judge): the majority value; None for a tie (a conflict to resolve).
    Numeric labels from several labellers are averaged."""
    groups: dict[tuple[str, str], list[Label]] = {}
    for label in labels:
        groups.setdefault((label.trace_id, label.judge), []).append(label)
    out = []
    for (trace_id, judge), group in groups.items():
        values = [lb.value for lb in group]
        value: LabelValue | None
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            value = sum(float(v) for v in values) / len(values) if len(values) > 1 else values[0]
        else:
            counts = Counter(_key(v) for v in values).most_common()
            tie = len(counts) > 1 and counts[0][1] == counts[1][1]
            value = None if tie else counts[0][0]
        out.append(Consensus(trace_id, judge, group[0].scenario_id, value, group))
    return sorted(out, key=lambda c: (c.judge, c.scenario_id, c.trace_id))


# -- import and export ---------------------------------------------------------------------
_FIELDS = ["trace_id", "judge", "value", "rationale", "labeller", "created_at"]


def export_labels(labels: Iterable[Label], path: Path) -> int:
    """Write labels as JSON lines (.jsonl) or CSV (.csv); returns how many."""
    rows = [lb.model_dump() for lb in labels]
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=[*_FIELDS, "scenario_id", "run_id"])
            writer.writeheader()
            writer.writerows(rows)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open("w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    else:
        raise ConfigError(f"{path}: unknown label file type (use .jsonl or .csv)")
    return len(rows)


def import_labels(path: Path, labeller: str | None = None) -> list[Label]:
    """Read labels from JSON lines or CSV. Bad rows are reported in one line: the first one as
    `path:line: what (fix)` and how many more there are."""
    if not path.exists():
        raise ConfigError(f"{path}: no such label file")
    if path.suffix.lower() == ".csv":
        rows = load_csv(path)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = [(n, d if isinstance(d, dict) else {"_": d}) for n, d in load_jsonl(path)]
    else:
        raise ConfigError(f"{path}: unknown label file type (use .jsonl or .csv)")
    labels: list[Label] = []
    problems: list[tuple[int, str]] = []
    for line, row in rows:
        try:
            labels.append(_label_of(row, labeller))
        except (ValidationError, ValueError) as exc:
            what = (
                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                if isinstance(exc, ValidationError)
                else str(exc)
            )
            problems.append((line, clip(what, 100)))
    if problems:
        (line, what), others = problems[0], [str(n) for n, _ in problems[1:]]
        also = f"; also bad: lines {', '.join(others[:8])}" if others else ""
        also += f" and {len(others) - 8} more" if len(others) > 8 else ""
        raise InputError(
            f"{path}:{line}: {what} (fields: {', '.join(_FIELDS)}; value is pass, fail or a "
            f"number{also})"
        )
    return labels


def _label_of(row: dict[Any, Any], labeller: str | None) -> Label:
    row = {
        k: v
        for k, v in row.items()
        if v not in ("", None) and k in {*_FIELDS, "scenario_id", "run_id"}
    }
    if labeller and "labeller" not in row:
        row["labeller"] = labeller
    if "value" not in row:
        raise ValueError("value: missing")
    if not isinstance(row["value"], bool | int | float | str):
        raise ValueError("value: must be pass, fail or a number, not a list or mapping")
    row["value"] = parse_value(row["value"])
    if "created_at" in row:
        try:
            row["created_at"] = float(row["created_at"])
        except (TypeError, ValueError):
            raise ValueError(f"created_at: not a number: {excerpt(row['created_at'])}") from None
        if not math.isfinite(row["created_at"]):
            raise ValueError("created_at: must be a finite Unix time")
    return Label.model_validate(row)
