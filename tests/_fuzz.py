"""What the fuzz test feeds the loaders: hostile files and values, mutations, writers."""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

# -- hostile inputs --------------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """About 500 bytes that expand to width**levels values (387 million for 9 x 9)."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


HOSTILE_YAML: dict[str, bytes] = {
    "alias-bomb": alias_bomb().encode(),
    "alias-bomb-in-value": (
        "judges:\n  - use: metric\n    params:\n"
        + "".join("      " + line + "\n" for line in alias_bomb(8, 8).splitlines())
    ).encode(),
    "recursive-alias": b"id: &a [*a]\n",
    "recursive-alias-map": b"id: x\nsetup: &s {files: *s}\n",
    "python-name": b"id: !!python/name:os.system x\n",
    "python-apply": b"id: !!python/object/apply:os.system ['echo owned']\n",
    "local-tag": b"id: !foo bar\n",
    "tag-directive": b"%TAG ! tag:example.com,2000:\n---\nid: !x bar\n",
    "binary-tag": b"id: !!binary aGVsbG8=\n",
    "set-tag": b"id: !!set {a, b}\n",
    "merge-key": b"base: &b {id: x}\nscenario:\n  <<: *b\n  input: hi\n",
    "complex-key": b"? [a, b]\n: 1\n",
    "mapping-key": b"? {a: 1}\n: 1\n",
    "duplicate-key": b"id: a\nid: b\ninput: hi\n",
    "deep-flow": b"id: " + b"[" * 1000 + b"]" * 1000 + b"\n",
    "deep-block": "".join("  " * i + f"k{i}:\n" for i in range(1000)).encode(),
    "c1-control": "id: x\ninput: 'a\x9bb'\n".encode(),
    "c0-control": b"id: x\ninput: a\x01b\n",
    "non-utf8": b"id: caf\xe9\ninput: hi\n",
    "utf16": "id: x\ninput: hi\n".encode("utf-16"),
    "nul-byte": b"id: x\x00\n",
    "lone-surrogate": b'id: x\ninput: "\\ud800"\n',
    "syntax": b"id: [unclosed\n",
    "tabs": b"id: x\n\tinput: hi\n",
    "only-scalar": b"just text\n",
    "empty": b"",
    "two-documents": b"id: a\n---\nid: b\n",
    "wrong-types": b"id: [a]\ninput: {x: 1}\ntags: 5\n",
    "int-overflow": b"id: x\ntrials: 1" + b"0" * 5000 + b"\n",
}

HOSTILE_VALUES: list[Any] = [
    None,
    0,
    -1,
    10**30,
    1.5e308,
    True,
    "",
    "abc",
    "x" * 100_000,
    "\x85\x9b\u202e",
    "\ud83d\ude00",
    "2024-01-01",
    [],
    {},
    ["a"],
    {"k": "v"},
    [[[[["deep"]]]]],
    "../../outside/secret.txt",
    "/etc/hostname",
    "!!python/name:os.system",
]


# -- mutation ----------------------------------------------------------------------------------


def _paths(data: Any, at: tuple = ()) -> list[tuple]:
    out = [at]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*at, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*at, i))
    return out


def _set(data: Any, at: tuple, value: Any, delete: bool = False) -> Any:
    if not at:
        return value
    parent = data
    for part in at[:-1]:
        parent = parent[part]
    if delete:
        del parent[at[-1]]
    else:
        parent[at[-1]] = value
    return data


def mutate_data(rng: random.Random, data: Any) -> Any:
    """One structural change at a random place: a hostile value, a deletion, an unknown key,
    a value wrapped in a list, or a value nested past the depth limit."""
    data = json.loads(json.dumps(data))
    at = rng.choice(_paths(data))
    op = rng.choice(["value", "value", "value", "delete", "unknown", "wrap", "deep"])
    if op == "delete" and at:
        return _set(data, at, None, delete=True)
    if op == "unknown":
        target = data
        for part in at:
            target = target[part]
        if isinstance(target, dict):
            target[rng.choice(["zz_unknown", "x" * 5000, "<<"])] = rng.choice(HOSTILE_VALUES)
            return data
    current: Any = data
    for part in at:
        current = current[part]
    if op == "wrap":
        return _set(data, at, [current])
    if op == "deep":
        for _ in range(100):
            current = {"k": current}
        return _set(data, at, current)
    return _set(data, at, rng.choice(HOSTILE_VALUES))


def mutate_bytes(rng: random.Random, raw: bytes) -> bytes:
    """One byte-level change: cut the file, drop or repeat a span, insert stray bytes or
    syntax."""
    if not raw:
        return b"\xff"
    i = rng.randrange(len(raw))
    j = min(len(raw), i + rng.randint(1, 40))
    op = rng.choice(["cut", "drop", "repeat", "insert", "insert"])
    if op == "cut":
        return raw[:i]
    if op == "drop":
        return raw[:i] + raw[j:]
    if op == "repeat":
        return raw[:j] + raw[i:j] + raw[j:]
    junk = rng.choice(
        [b"\xff", b"\xe9", b"\x00", b"\xc2\x85", b"\xc2\x9b", b"\x1b", b"\t", b"\n", b": ", b"- "]
        + [b"[", b"{", b"&a ", b"*a", b"!foo ", b"%TAG", b"<<: ", b"? ", b'"', b"'", b"\\u"]
    )
    return raw[:i] + junk + raw[i:]


def to_toml(data: Any) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v) if not isinstance(v, float) or v == v else "nan"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v if x is not None) + "]"
        if isinstance(v, dict):
            return (
                "{"
                + ", ".join(
                    f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items() if x is not None
                )
                + "}"
            )
        return '""'

    lines: list[str] = []
    for table, body in (data if isinstance(data, dict) else {"costar": data}).items():
        if isinstance(body, dict):
            lines.append(f"[{json.dumps(str(table))}]")
            lines += [
                f"{json.dumps(str(k))} = {value(v)}" for k, v in body.items() if v is not None
            ]
        elif body is not None:
            lines.insert(0, f"{json.dumps(str(table))} = {value(body)}")
    return "\n".join(lines) + "\n"


def to_csv(rows: Any) -> str:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        return json.dumps(rows)
    fields = list(dict.fromkeys(str(k) for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields)
    writer.writeheader()
    for r in rows:
        writer.writerow({str(k): v for k, v in r.items()})
    return out.getvalue()


def hostile_for(name: str) -> dict[str, bytes]:
    common = {
        "non-utf8": b"\xff\xfe\xfa garbage \xe9\n",
        "utf16": '{"a": 1}\n'.encode("utf-16"),
        "empty": b"",
        "huge": b"#" * (9 * 1024 * 1024),
    }
    if name in ("scenario", "judges"):
        hostile = {**HOSTILE_YAML, **common}
        if name == "judges":
            hostile |= {
                "use-list": b"judges:\n  - use: [a]\n",
                "judges-int": b"judges: 5\n",
                "params-list": b"judges:\n  - use: metric\n    params: [1]\n",
                "name-map": b"judges:\n  - use: metric\n    name: {a: 1}\n",
                "defaults-str": b"defaults: maybe\n",
                "deep-params": b"judges:\n  - use: metric\n    params: " + b"[" * 500 + b"]" * 500,
            }
        return hostile
    if name == "costar.toml":
        return common | {
            "costar-int": b"costar = 5\n",
            "costar-list": b"costar = [1]\n",
            "trials-str": b'[costar]\ntrials = "x"\n',
            "judges-int": b"[costar]\njudges = 5\n",
            "deep": b"[costar]\nx = " + b"[" * 1000 + b"]" * 1000 + b"\n",
            "syntax": b"[costar\n",
            "c1": "[costar]\nsuite = 'a\x9b'\n".encode(),
            "unknown-key": b"[costar]\n" + b"k" * 5000 + b" = 1\n",
        }
    big = "x" * 100_000
    if name.startswith("labels"):
        rows = [
            {"trace_id": "t", "judge": big, "value": "pass", "labeller": "a"},
            {"trace_id": "t", "judge": "j", "value": {"a": [1]}, "labeller": "a"},
            {"trace_id": "t", "judge": "j", "value": "pass", "labeller": "a", "created_at": big},
            {"trace_id": "no-such-trace", "judge": "j", "value": "pass", "labeller": "a"},
            {"trace_id": "t", "judge": "j", "value": "pass", "labeller": "a", "created_at": "nan"},
        ]
        if name.endswith("csv"):
            return common | {f"row-{i}": to_csv([r]).encode() for i, r in enumerate(rows)}
        return (
            common
            | {f"row-{i}": (json.dumps(r) + "\n").encode() for i, r in enumerate(rows)}
            | {
                "array-line": b"[1, 2]\n",
                "deep": b"[" * 100_000 + b"]" * 100_000 + b"\n",
                "surrogate": b'{"trace_id": "\\ud800", "judge": "j", "value": 1}\n',
            }
        )
    chat = {"role": "user", "content": "hi"}
    if name == "openai-chat":
        lines = [
            {"messages": ["hello"]},
            {"messages": [{"role": 5}]},
            {"messages": [chat], "usage": {"input_tokens": "5"}},
            {"messages": [chat, {"role": "tool", "tool_call_id": [1], "content": "x"}]},
            {"messages": [chat], "expectations": {"tool_calls": 5}},
            {"messages": [chat], "scenario_id": big},
            {"messages": [{"role": "user", "content": "\ud800"}]},
        ]
        return common | {f"line-{i}": (json.dumps(x) + "\n").encode() for i, x in enumerate(lines)}
    record = {"task_id": 1, "info": {"task": {}}, "traj": [chat]}
    records = [
        {**record, "reward": "abc"},
        {**record, "reward": float("nan")},
        {**record, "trial": -1},
        {**record, "traj": "hello"},
        {**record, "info": {"task": {"actions": [{"kwargs": {}}]}}},
        {**record, "task_id": [1]},
    ]
    hostile = {f"record-{i}": json.dumps([r]).encode() for i, r in enumerate(records)}
    return common | hostile | {"duplicate-trial": json.dumps([record, record]).encode()}
