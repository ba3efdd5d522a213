"""Seeded fuzzing of every file format costar reads, through the CLI (issue 13, items 8 and 9).

Valid examples of each format (scenario files, judges YAML, costar.toml, label files, both
import formats) are mutated (values of the wrong type, huge and hostile strings, deleted and
unknown keys, deep nesting, cut-off files, stray bytes) and joined by known hostile files (alias
bombs, recursive aliases, unknown tags, %TAG, merge keys, complex keys, 1,000 levels of
nesting, C1 control characters, non-UTF-8 and UTF-16 bytes, files over the size limit). Each
runs through the CLI app in-process (typer's CliRunner), and a handful as real subprocesses to
prove the exit code end to end. Every case must be accepted, or exit 2 with one line of at most
300 characters; never a traceback, never longer than the watchdog allows.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from _fuzz import (
    HOSTILE_YAML,
    alias_bomb,
    hostile_for,
    mutate_bytes,
    mutate_data,
    to_csv,
    to_toml,
)
from costar.cli._app import app

SEED = 1313
# a hang detector, not a timing check: generous, because a loaded 2-core machine can take
# seconds for one case that finishes in milliseconds when quiet
WATCHDOG = 60.0  # seconds one in-process case may take
MAX_LINE = 300
EXAMPLES = Path(__file__).parent.parent / "examples"
CANARY = "costar-fuzz-canary-5e1f0c"  # the text of a file outside every suite

# -- the project every in-process case runs in -----------------------------------------------


@dataclass
class Format:
    """One input format: its valid examples, how to write a value of it, how to run it."""

    name: str
    file: str  # where the case's bytes are written, relative to the project
    examples: list[Any]
    dump: Callable[[Any], str]
    args: Callable[[Path], list[str]]
    accepted: Callable[[Any], bool]  # the result of a valid input


def _exit0(result: Any) -> bool:
    return result.exit_code == 0


def _scenario_accepted(result: Any) -> bool:
    # the suite loaded; the id filter (matching nothing) then stops the run before it starts
    return result.exit_code == 2 and "no scenario matches the filters" in result.stderr


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, template_db: Path) -> dict[str, Any]:
    """A project with a store holding imported traces (for labels to name), a suite folder
    with fixture files, and a second project whose costar.toml the cases replace."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / ".costar").mkdir()
    shutil.copyfile(template_db, root / ".costar" / "mlflow.db")
    (root / "costar.toml").write_text("[costar]\nsuite = 'scenarios'\njudges = ['judges']\n")
    suite = root / "scenarios"
    (suite / "fixtures").mkdir(parents=True)
    for example in ("support", "shop"):
        for f in (EXAMPLES / example / "scenarios" / "fixtures").iterdir():
            shutil.copyfile(f, suite / "fixtures" / f.name)
    (root / "judges").mkdir()
    (root / "toml-project").mkdir()
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_text(CANARY)

    chats = [
        {
            "scenario_id": f"seed-{i}",
            "model": "gpt-x",
            "usage": {"input_tokens": 10, "output_tokens": 5},
            "messages": [
                {"role": "user", "content": f"where is order {i}?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "lookup", "arguments": json.dumps({"id": i})},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped"}'},
                {"role": "assistant", "content": "It has shipped."},
            ],
            "expectations": {"facts": ["shipped"]},
        }
        for i in range(3)
    ]
    seed_file = root / "seed.jsonl"
    seed_file.write_text("\n".join(json.dumps(c) for c in chats) + "\n")
    with contextlib.chdir(root):
        done = CliRunner().invoke(app, ["import", "openai-chat", str(seed_file), "--json"])
    assert done.exit_code == 0, done.output
    from costar.traces import TraceStore

    run_id = json.loads(done.stdout)["run_id"]
    traces = [
        t.trace_id for t in TraceStore(f"sqlite:///{root}/.costar/mlflow.db").run_traces(run_id)
    ]
    return {"root": root, "outside": outside, "chats": chats, "traces": traces}


def formats(project: dict[str, Any]) -> list[Format]:
    traces = project["traces"]
    scenario_files = sorted((EXAMPLES / "support" / "scenarios").glob("*.yaml")) + sorted(
        (EXAMPLES / "shop" / "scenarios").glob("*.yaml")
    )
    labels = [
        {"trace_id": t, "judge": "tone", "value": v, "rationale": "ok", "labeller": "ann"}
        for t, v in zip(traces, ["pass", "fail", 0.5], strict=True)
    ]
    tau = [
        {
            "task_id": 3,
            "trial": trial,
            "reward": reward,
            "info": {
                "task": {
                    "user_id": "u1",
                    "instruction": "Cancel order 9.",
                    "actions": [{"name": "cancel_order", "kwargs": {"order_id": "#9"}}],
                    "outputs": ["54.04"],
                }
            },
            "traj": project["chats"][0]["messages"],
        }
        for trial, reward in ((0, 1.0), (1, 0.0))
    ]

    def dump_yaml(data: Any) -> str:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)

    return [
        Format(
            "scenario",
            "scenarios/case.yaml",
            [yaml.safe_load(f.read_text()) for f in scenario_files],
            dump_yaml,
            lambda p: ["run", str(p.parent), "-a", "sample_agents:echo", "-s", "zz-no-such-id"],
            _scenario_accepted,
        ),
        Format(
            "judges",
            "judges/case.yaml",
            [yaml.safe_load((EXAMPLES / "support" / "judges" / "policy.yaml").read_text())],
            dump_yaml,
            lambda p: ["judges", "list"],
            _exit0,
        ),
        Format(
            "costar.toml",
            "toml-project/costar.toml",
            [
                {"costar": {"suite": "scenarios", "trials": 2, "judges": ["judges"]}},
                {"costar": {"suite": "s", "agent_files": ["a.py"], "timeout": 30.5}},
                {"costar": {"mcp_servers": {"db": "python -m db"}, "judge_pairs": [["a", "b"]]}},
            ],
            to_toml,
            lambda p: ["judges", "list"],
            _exit0,
        ),
        Format(
            "labels.jsonl",
            "labels.jsonl",
            [labels],
            lambda rows: (
                "\n".join(json.dumps(r) for r in rows) + "\n"
                if isinstance(rows, list)
                else json.dumps(rows)
            ),
            lambda p: ["label", "--import", str(p)],
            _exit0,
        ),
        Format(
            "labels.csv",
            "labels.csv",
            [labels],
            to_csv,
            lambda p: ["label", "--import", str(p)],
            _exit0,
        ),
        Format(
            "openai-chat",
            "chats.jsonl",
            [project["chats"]],
            lambda rows: (
                "\n".join(json.dumps(r) for r in rows) + "\n"
                if isinstance(rows, list)
                else json.dumps(rows)
            ),
            lambda p: ["import", "openai-chat", str(p)],
            _exit0,
        ),
        Format(
            "tau-bench",
            "results.json",
            [tau],
            json.dumps,
            lambda p: ["import", "tau-bench", str(p)],
            _exit0,
        ),
    ]


# -- running one case ------------------------------------------------------------------------


def invoke(root: Path, args: list[str]) -> Any:
    """The CLI app in-process in `root`, under a watchdog thread."""
    box: dict[str, Any] = {}

    def target() -> None:
        with contextlib.chdir(root):
            box["result"] = CliRunner().invoke(app, args)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(WATCHDOG)
    if worker.is_alive():
        pytest.fail(f"costar {' '.join(args)} still running after {WATCHDOG} s (a hang)")
    return box["result"]


def check(result: Any, case: str, fmt: Format, path: Path) -> str:
    """A failure description, or '' when the case behaved: accepted, or exit 2 with one line."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        tb = "".join(traceback.format_exception(result.exception))
        return f"{case}: traceback:\n{tb[-1500:]}"
    text = result.stdout + result.stderr
    if "Traceback" in text:
        return f"{case}: traceback in output:\n{text[-1500:]}"
    if fmt.accepted(result):
        return ""
    if result.exit_code != 2:
        return f"{case}: exit {result.exit_code} (want 0 or 2): {text[-600:]}"
    lines = result.stderr.splitlines()
    if fmt.name == "scenario":  # one line per problem, each naming file:line:col
        bad = [ln for ln in lines if not re.match(rf"^{re.escape(str(path))}:\d+:\d+: ", ln)]
        if bad or not lines:
            return f"{case}: scenario problems must each be path:line:col: ...; got {lines[:3]}"
    elif len(lines) != 1:
        return f"{case}: {len(lines)} lines on stderr, want 1: {lines[:3]}"
    too_long = [ln for ln in lines if len(ln) > MAX_LINE]
    if too_long:
        return f"{case}: a line of {len(too_long[0])} characters: {too_long[0][:200]}..."
    if CANARY in text:
        return f"{case}: the text of a file outside the suite was printed"
    return ""


def cases(project: dict[str, Any]) -> list[tuple[str, Format, bytes]]:
    rng = random.Random(SEED)
    out: list[tuple[str, Format, bytes]] = []
    counts = {"scenario": 70, "judges": 35, "costar.toml": 35, "labels.jsonl": 25}
    counts |= {"labels.csv": 20, "openai-chat": 35, "tau-bench": 30}
    for fmt in formats(project):
        for example in fmt.examples:  # every valid example as it is
            out.append((f"{fmt.name}/valid", fmt, fmt.dump(example).encode()))
        for n in range(counts[fmt.name]):
            data = mutate_data(rng, rng.choice(fmt.examples))
            raw = fmt.dump(data).encode("utf-8", "surrogatepass")
            if rng.random() < 0.3:
                raw = mutate_bytes(rng, raw)
            out.append((f"{fmt.name}/mutant-{n}", fmt, raw))
        out += [(f"{fmt.name}/{name}", fmt, raw) for name, raw in hostile_for(fmt.name).items()]
    return out


@pytest.mark.loop
def test_every_input_format_accepts_or_fails_with_one_line(project: dict[str, Any]) -> None:
    root = project["root"]
    failures: list[str] = []
    all_cases = cases(project)
    assert len(all_cases) >= 300
    outcomes = {"accepted": 0, "refused": 0}
    for case, fmt, raw in all_cases:
        path = root / fmt.file
        path.write_bytes(raw)
        result = invoke(
            root / "toml-project" if fmt.name == "costar.toml" else root, fmt.args(path)
        )
        problem = check(result, case, fmt, path)
        if problem:
            failures.append(problem)
        outcomes["accepted" if fmt.accepted(result) else "refused"] += 1
        if case.endswith("/valid") and not fmt.accepted(result):
            failures.append(f"{case}: a valid example was refused: {result.stderr[:300]}")
        path.unlink()
    assert not failures, f"{len(failures)} of {len(all_cases)} cases:\n" + "\n".join(failures[:15])
    # both outcomes occur, so the mutations neither all break nor all miss the loaders
    assert outcomes["accepted"] >= 20 and outcomes["refused"] >= 200, outcomes


def test_hostile_yaml_never_reaches_a_loader_unchecked(tmp_path: Path) -> None:
    """Gate policies and fake-LLM scripts, read through their own loaders."""
    from costar._exceptions import InputError
    from costar.gate import load_policy
    from costar.llm._script import load_script

    for name, raw in HOSTILE_YAML.items():
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(raw)
        for loader in (load_policy, load_script):
            try:
                loader(path)
            except InputError as exc:
                message = str(exc)
                assert "\n" not in message and len(message) <= MAX_LINE, message
                assert message.startswith(f"{path}:"), message
            except Exception as exc:  # a pydantic error of a wrong shape is fine, as ConfigError
                from costar._exceptions import ConfigError

                assert isinstance(exc, ConfigError), f"{name}: {type(exc).__name__}: {exc}"
            if name in ("alias-bomb", "python-name", "python-apply", "local-tag", "merge-key"):
                with pytest.raises(InputError):
                    loader(path)


SUBPROCESS_CASES = [
    ("scenario", "scenarios/bomb.yaml", alias_bomb().encode(), ["run", "scenarios", "-a", "x:y"]),
    (
        "judges",
        "judges/bomb.yaml",
        alias_bomb(8, 10).replace("a0:", "judges: []\na0:").encode(),
        ["judges", "list"],
    ),
    ("costar.toml", "costar.toml", b"[costar]\nsuite = '\xff'\n", ["judges", "list"]),
    (
        "tau-bench",
        "r.json",
        b'[{"task_id": 1, "reward": "abc", "info": {"task": {}}, "traj": []}]',
        ["import", "tau-bench", "r.json"],
    ),
    (
        "labels",
        "l.jsonl",
        json.dumps({"trace_id": "t", "judge": "x" * 100_000, "value": 1, "labeller": "a"}).encode()
        + b"\n",
        ["label", "--import", "l.jsonl"],
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "rel", "raw", "args"), SUBPROCESS_CASES, ids=[c[0] for c in SUBPROCESS_CASES]
)
def test_a_real_costar_process_exits_2_with_one_line(
    tmp_path: Path, store_uri: str, kind: str, rel: str, raw: bytes, args: list[str]
) -> None:
    (tmp_path / "costar.toml").write_text("[costar]\nsuite = 'scenarios'\n")
    target = tmp_path / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(raw)
    done = subprocess.run(
        [sys.executable, "-m", "costar.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and len(lines[0]) <= MAX_LINE, lines[:3]
    assert "Traceback" not in done.stderr + done.stdout


def test_a_fixture_outside_the_suite_is_never_read(
    project: dict[str, Any], tmp_path: Path, template_db: Path
) -> None:
    """`from:` pointing outside the suite (absolute, ../, a symlink): the outside file's text
    must appear nowhere: not in the output, the workspace or the store."""
    secret = project["outside"] / "secret.txt"
    (tmp_path / ".costar").mkdir()
    shutil.copyfile(template_db, tmp_path / ".costar" / "mlflow.db")
    (tmp_path / "costar.toml").write_text("[costar]\nsuite = 'scenarios'\nworkspace_dir = 'ws'\n")
    suite = tmp_path / "scenarios"
    suite.mkdir()
    (suite / "link.txt").symlink_to(secret)
    relative = os.path.relpath(secret, suite)
    for name, source in (("absolute", str(secret)), ("dotdot", relative), ("symlink", "link.txt")):
        (suite / f"{name}.yaml").write_text(
            yaml.safe_dump(
                {"id": name, "input": "hi", "setup": {"files": {"f.txt": {"from": source}}}}
            )
        )
    result = invoke_slow(
        tmp_path, ["run", "scenarios", "-a", "sample_agents:echo", "--keep-workspaces"]
    )
    assert result.exit_code in (0, 2), result.output
    seen = result.stdout + result.stderr
    for f in tmp_path.rglob("*"):
        if f.is_file() and not f.is_symlink():
            seen += f.read_bytes().decode("utf-8", "replace")
    assert CANARY not in seen


def invoke_slow(root: Path, args: list[str]) -> Any:
    with contextlib.chdir(root):
        return CliRunner().invoke(app, args)
