"""Import of traces recorded elsewhere: OpenAI chat JSONL and tau-bench results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _helpers import run_cli
from costar._exceptions import CostarError, UsageError
from costar.assess import AssessConfig, VerdictStore, assess
from costar.importers import import_file
from costar.scenarios import load_suite
from costar.traces import TraceStore


def call(cid: str, name: str, args: dict) -> dict:
    return {
        "id": cid,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args)},
    }


REFUND_CHAT = [
    {"role": "system", "content": "You are support."},
    {"role": "user", "content": "Where is order 7?"},
    {"role": "assistant", "content": None, "tool_calls": [call("c1", "lookup_order", {"id": 7})]},
    {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped"}'},
    {"role": "assistant", "content": "It has shipped."},
    {"role": "user", "content": "Refund it"},
    {"role": "assistant", "content": None, "tool_calls": [call("c2", "refund", {"id": 7})]},
    {"role": "tool", "tool_call_id": "c2", "content": "Error: order already shipped"},
    {"role": "assistant", "content": "Sorry, it has shipped, so I cannot refund it."},
]


def test_openai_chat_jsonl_becomes_traces_and_scenarios(tmp_path: Path, store_uri: str) -> None:
    lines = [
        {
            "scenario_id": "order 7",
            "messages": REFUND_CHAT,
            "model": "gpt-x",
            "usage": {"input_tokens": 300, "output_tokens": 60},
            "expectations": {"facts": ["shipped"]},
        },
        {"scenario_id": "order 7", "messages": REFUND_CHAT},
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
            ]
        },
    ]
    source = tmp_path / "chats.jsonl"
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = import_file("openai-chat", source, tmp_path, store_uri)
    assert (out.records, out.scenarios, out.written, out.verdicts) == (3, 2, 3, 0)
    suite = load_suite(out.suite)
    assert sorted(suite.ids) == ["chat-3", "order-7"]
    assert suite.get("order-7").scenario.turns == ["Where is order 7?", "Refund it"]

    store = TraceStore(store_uri)
    rows = store.run_traces(out.run_id)
    assert sorted((r.scenario_id, r.trial) for r in rows) == [
        ("chat-3", 0),
        ("order-7", 0),
        ("order-7", 1),
    ]
    first = next(r for r in rows if r.scenario_id == "order-7" and r.trial == 0)
    (trace,) = store.get_traces([first.trace_id])
    tools = [s for s in trace.data.spans if s.span_type == "TOOL"]
    assert [(t.name, t.inputs) for t in tools] == [
        ("lookup_order", {"id": 7}),
        ("refund", {"id": 7}),
    ]
    assert tools[0].outputs == {"status": "shipped"}
    assert tools[1].status.status_code.value == "ERROR"
    llm = [s for s in trace.data.spans if s.span_type == "CHAT_MODEL"]
    assert len(llm) == 4 and llm[0].attributes["mlflow.llm.model"] == "gpt-x"
    assert [s.name for s in trace.data.spans if s.span_type == "CHAIN"] == ["turn-1", "turn-2"]
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.outputs.startswith("Sorry, it has shipped")

    judged = assess(
        AssessConfig(
            root=tmp_path,
            tracking_uri=store_uri,
            run_ids=[out.run_id],
            judges=["expected-facts", "no-repeated-failures"],
        )
    )
    assert judged.to_json()["per_judge"]["expected-facts"]["passed"] == 2


def test_an_imported_conversation_ending_with_a_user_goodbye_keeps_its_output(
    tmp_path: Path, store_uri: str
) -> None:
    goodbye = [*REFUND_CHAT, {"role": "user", "content": "ok thanks, bye"}]
    stop = [
        *REFUND_CHAT,
        {"role": "user", "content": "###STOP###"},
        {"role": "assistant", "content": ""},
    ]
    source = tmp_path / "chats.jsonl"
    source.write_text("".join(json.dumps({"messages": m}) + "\n" for m in (goodbye, stop)))
    out = import_file("openai-chat", source, tmp_path, store_uri)
    store = TraceStore(store_uri)
    traces = store.get_traces([r.trace_id for r in store.run_traces(out.run_id)])
    for trace in traces:
        root = next(s for s in trace.data.spans if s.parent_id is None)
        assert root.outputs.startswith("Sorry, it has shipped")
    judged = assess(
        AssessConfig(
            root=tmp_path, tracking_uri=store_uri, run_ids=[out.run_id], judges=["output-present"]
        )
    )
    assert judged.to_json()["per_judge"]["output-present"]["passed"] == 2


TAU = [
    {
        "task_id": 3,
        "trial": trial,
        "reward": reward,
        "info": {
            "task": {
                "user_id": "u1",
                "instruction": "Cancel order 9 and tell me the refund.",
                "actions": [{"name": "cancel_order", "kwargs": {"order_id": "#9"}}],
                "outputs": ["54.04"],
            }
        },
        "traj": [
            {"role": "system", "content": "policy"},
            {"role": "user", "content": "cancel #9 please"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [call("a", "cancel_order", {"order_id": "#9"})],
            },
            {"role": "tool", "tool_call_id": "a", "content": '{"refund": 54.04}'},
            {"role": "assistant", "content": f"Cancelled; refund {refund}."},
        ],
    }
    for trial, reward, refund in ((0, 1.0, "54.04"), (1, 0.0, "unknown"))
]


def test_tau_bench_results_become_traces_scenarios_and_reward_verdicts(
    tmp_path: Path, store_uri: str
) -> None:
    source = tmp_path / "results.json"
    source.write_text(json.dumps(TAU))
    out = import_file("tau-bench", source, tmp_path, store_uri)
    assert (out.records, out.scenarios, out.written, out.verdicts) == (2, 1, 2, 2)
    scenario = load_suite(out.suite).get("tau-task-3").scenario
    assert scenario.input == "Cancel order 9 and tell me the refund."
    assert scenario.expectations.tool_calls[0].args == {"order_id": "#9"}
    assert scenario.expectations.facts == ["54.04"]
    rewards = sorted(
        (v.trial, v.passed, v.value)
        for v in VerdictStore(tmp_path / ".costar" / "verdicts.db").for_run(out.run_id)
    )
    assert rewards == [(0, True, 1.0), (1, False, 0.0)]
    judged = assess(
        AssessConfig(
            root=tmp_path,
            tracking_uri=store_uri,
            run_ids=[out.run_id],
            judges=["expected-tool-calls", "expected-facts"],
        )
    )
    tally = judged.to_json()["per_judge"]
    assert tally["expected-tool-calls"]["passed"] == 2
    assert (tally["expected-facts"]["passed"], tally["expected-facts"]["failed"]) == (1, 1)


def tau_task(trial: int, reward: float, calls: list[tuple[str, dict]]) -> dict:
    traj: list[dict] = [{"role": "user", "content": "cancel order 9, I am Ana"}]
    for n, (name, args) in enumerate(calls):
        traj.append(
            {"role": "assistant", "content": None, "tool_calls": [call(f"c{n}", name, args)]}
        )
        traj.append({"role": "tool", "tool_call_id": f"c{n}", "content": '{"ok": true}'})
    traj.append({"role": "assistant", "content": "Done."})
    actions = [
        {"name": "find_user", "kwargs": {"name": "Ana"}},
        {"name": "get_order", "kwargs": {"order_id": "#9"}},
        {"name": "cancel_order", "kwargs": {"order_id": "#9"}},
    ]
    task = {"user_id": "ana", "instruction": "cancel #9", "actions": actions, "outputs": []}
    return {"task_id": 5, "trial": trial, "reward": reward, "info": {"task": task}, "traj": traj}


def test_import_read_only_tools_are_declared_never_guessed(project: Path, store_uri: str) -> None:
    searched_differently = [("get_order", {"order_id": "#9"}), ("cancel_order", {"order_id": "#9"})]
    extra_refund = [*searched_differently, ("refund", {"order_id": "#9"})]
    source = project / "results.json"
    source.write_text(
        json.dumps([tau_task(0, 1.0, searched_differently), tau_task(1, 0.0, extra_refund)])
    )
    guessed = run_cli(project, "import", "tau-bench", str(source))
    assert guessed.returncode == 0, guessed.stderr
    assert "read-only tools: none declared" in guessed.stdout and "subset mode" in guessed.stdout

    declared = run_cli(
        project, "import", "tau-bench", str(source), "--read-only", "find_user,get_order"
    )
    assert "read-only tools (from --read-only): find_user, get_order" in declared.stdout
    assert "exact mode" in declared.stdout
    run_id = declared.stdout.split(" as run ")[1].split(":")[0]
    judged = json.loads(
        run_cli(project, "assess", run_id, "--judge", "expected-tool-calls", "--json").stdout
    )
    verdicts = VerdictStore(project / ".costar" / "verdicts.db").for_run(run_id)
    agree = {v.trial: v.passed for v in verdicts if v.judge == "expected-tool-calls"}
    assert agree == {0: True, 1: False}  # the same as the recorded rewards
    assert judged["per_judge"]["expected-tool-calls"]["failed"] == 1

    (project / "costar.toml").write_text("[costar]\nread_only = ['find_user', 'get_order']\n")
    from_project = json.loads(run_cli(project, "import", "tau-bench", str(source), "--json").stdout)
    assert from_project["read_only_from"] == "costar.toml read_only"
    assert from_project["read_only"] == ["find_user", "get_order"]
    assert from_project["tool_call_mode"] == "exact"


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("openai-chat", '{"messages": []}\n', "chats.data:1: messages: List should have at"),
        ("openai-chat", '{"messages": ["hello"]}\n', "chats.data:1: messages.0: Input should be"),
        ("openai-chat", '{"messages": [}\n', "chats.data:1:"),
        ("tau-bench", '{"not": "a list"}', "expected a list of tau-bench result records"),
        ("tau-bench", '[{"task_id": 1}]', "record 0: info: Field required"),
        ("tau-bench", json.dumps([{**TAU[0], "reward": "abc"}]), "record 0: reward: Input should"),
        ("tau-bench", b'[{"task_id": "\xff"}]', "chats.data:1:15: not UTF-8 text (byte 0xff"),
        ("yaml", "x", "unknown import format 'yaml'"),
    ],
)
def test_bad_import_files_are_usage_errors(
    tmp_path: Path, store_uri: str, fmt: str, text: str, message: str
) -> None:
    source = tmp_path / "chats.data"
    source.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        import_file(fmt, source, tmp_path, store_uri)


def test_an_import_that_fails_after_writing_traces_ends_failed_not_running(
    tmp_path: Path, store_uri: str
) -> None:
    source = tmp_path / "results.json"
    source.write_text(json.dumps(TAU))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the verdict store's folder should be")
    with pytest.raises(CostarError) as err:
        import_file("tau-bench", source, tmp_path, store_uri, verdict_store=blocker / "v.db")
    (run,) = TraceStore(store_uri).list_runs()
    assert run.status == "FAILED"
    assert len(TraceStore(store_uri).run_traces(run.run_id)) == 2  # what landed is kept
    assert "\n" not in str(err.value)


def test_two_imports_in_the_same_second_get_their_own_suite_folders(
    tmp_path: Path, store_uri: str
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_text(json.dumps({"scenario_id": "a", "messages": REFUND_CHAT}) + "\n")
    second.write_text(json.dumps({"scenario_id": "b", "messages": REFUND_CHAT}) + "\n")
    suites = set()
    for _ in range(3):  # at least two of three imports in a row share a second
        suites.add(import_file("openai-chat", first, tmp_path, store_uri).suite)
        suites.add(import_file("openai-chat", second, tmp_path, store_uri).suite)
    assert len(suites) == 6
    assert sorted(len(load_suite(s).ids) for s in suites) == [1] * 6


def test_distinct_scenario_ids_stay_distinct_after_cleaning(tmp_path: Path, store_uri: str) -> None:
    source = tmp_path / "chats.jsonl"
    lines = [
        {"scenario_id": sid, "messages": REFUND_CHAT} for sid in ("order 7", "order-7", "x" * 300)
    ]
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = import_file("openai-chat", source, tmp_path, store_uri)
    ids = load_suite(out.suite).ids
    assert len(ids) == 3 and "order-7" in ids and all(len(i) <= 80 for i in ids)
