"""Each built-in check on a passing and a failing trace."""

from __future__ import annotations

import pytest
from _build import db_snapshot, llm, span, tool, view

from costar.judges import build
from costar.scenarios import Scenario


def scenario(**expectations) -> Scenario:
    return Scenario.model_validate({"id": "s", "input": "hi", "expectations": expectations})


def run(uses: str, trace, scen=None, /, **params):
    return build(uses, params=params).score(trace, scen)


def test_output_present() -> None:
    assert run("output-present", view(output="hi")).passed is True
    failed = run("output-present", view(output="  ", error="RuntimeError: boom"))
    assert failed.passed is False and "RuntimeError" in failed.rationale
    assert failed.evidence == ["root"]


def test_output_json_schema() -> None:
    schema = {"type": "object", "required": ["refund"]}
    assert run("output-json-schema", view(output='{"refund": 1}'), schema=schema).passed
    missing = run("output-json-schema", view(output='{"other": 1}'), schema=schema)
    assert missing.passed is False and "'refund' is a required property" in missing.rationale
    assert run("output-json-schema", view(output="not json"), schema=schema).passed is False


@pytest.mark.parametrize(
    ("lang", "good", "bad"),
    [
        ("python", "```python\nx = 1\n```", "```python\ndef (:\n```"),
        ("json", '{"a": 1}', '{"a": }'),
        ("yaml", "a: [1, 2]", "a: [1, 2"),
        ("sql", "SELECT id FROM orders WHERE id = 1", "SELEC id FROM"),
    ],
)
def test_parses_output(lang: str, good: str, bad: str) -> None:
    assert run("parses", view(output=good), lang=lang).passed is True
    assert run("parses", view(output=bad), lang=lang).passed is False


def test_parses_yaml_in_a_reply_never_expands_it() -> None:
    """An alias bomb in the agent's reply is valid YAML and is judged at once (building it
    would take gigabytes); custom tags such as CloudFormation's are valid YAML too."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert run("parses", view(output=bomb), lang="yaml").passed is True
    assert run("parses", view(output="Value: !Ref MyBucket"), lang="yaml").passed is True
    deep = "[" * 5000 + "]" * 5000
    assert run("parses", view(output=deep), lang="yaml").passed is False


def test_parses_workspace_files() -> None:
    snap = {
        "version": 1,
        "sqlite": {},
        "files": [{"path": "app.py", "text": "print('ok')"}, {"path": "bad.py", "text": "def ("}],
    }
    assert run("parses", view(snapshot=snap), lang="python", files="app.py").passed is True
    failed = run("parses", view(snapshot=snap), lang="python", files="*.py")
    assert failed.passed is False and failed.rationale.startswith("bad.py:")


CALLS = (
    tool("t1", "lookup_order", 1, {"order_id": 1042, "verbose": True}, {"status": "ok"}),
    tool("t2", "read_policy", 2),
    tool("t3", "issue_refund", 3, {"order_id": 1042}, error="ValueError: declined"),
    tool("t4", "issue_refund", 4, {"order_id": 1042}, {"ok": True}),
)


def test_expected_tool_calls_subset_exact_counts_and_order() -> None:
    want = scenario(
        tool_calls=[
            {"name": "lookup_order", "args": {"order_id": 1042}},
            {"name": "issue_refund", "max": 2},
        ]
    )
    ok = run("expected-tool-calls", view(*CALLS), want)
    assert ok.passed is True and set(ok.evidence) == {"t1", "t3", "t4"}
    exact = scenario(
        tool_calls=[{"name": "lookup_order", "args": {"order_id": 1042}, "exact": True}]
    )
    assert run("expected-tool-calls", view(*CALLS), exact).passed is False
    too_many = scenario(tool_calls=[{"name": "issue_refund", "max": 1}])
    failed = run("expected-tool-calls", view(*CALLS), too_many)
    assert failed.passed is False and "2 call(s), expected 1 to 1" in failed.rationale
    assert run("expected-tool-calls", view(*CALLS), too_many, only_successful=True).passed
    never = scenario(tool_calls=[{"name": "escalate", "min": 0, "max": 0}])
    assert run("expected-tool-calls", view(*CALLS), never).passed is True
    ordered = scenario(tool_calls=[{"name": "read_policy"}, {"name": "lookup_order"}])
    assert run("expected-tool-calls", view(*CALLS), ordered).passed is True
    assert run("expected-tool-calls", view(*CALLS), ordered, ordered=True).passed is False
    assert run("expected-tool-calls", view(*CALLS), scenario()).status == "skipped"


def test_expected_facts_in_any_reply() -> None:
    turns = (
        span("c1", "turn-1", "CHAIN", 0, 1, outputs="Your  order is SHIPPED."),
        span("c2", "turn-2", "CHAIN", 1, 2, outputs="Anything else?"),
    )
    assert run("expected-facts", view(*turns), scenario(facts=["order is shipped"])).passed
    failed = run("expected-facts", view(*turns), scenario(facts=["refunded"]))
    assert failed.passed is False and "refunded" in failed.rationale


def test_tool_sequence_rules() -> None:
    trace = view(*CALLS)
    assert run("tool-sequence", trace, before=[["read_policy", "issue_refund"]]).passed
    assert run("tool-sequence", trace, before=[["issue_refund", "read_policy"]]).passed is False
    forbidden = run("tool-sequence", trace, forbidden=["read_policy"])
    assert forbidden.passed is False and forbidden.evidence == ["t2"]
    assert run("tool-sequence", trace, max_calls={"issue_refund": 1}).passed is False
    repeated = view(
        tool("a", "pay", 1, {"x": 1}, error="E: no"), tool("b", "pay", 2, {"x": 1}, error="E: no")
    )
    failed = run("tool-sequence", repeated)
    assert failed.passed is False and failed.evidence == ["b"]
    assert run("tool-sequence", repeated, no_repeated_failures=False).passed is True


def test_final_state_artifacts_and_sql() -> None:
    files = [{"path": "out/report.json", "text": '{"total": 3}'}]
    snap = db_snapshot([[1042, "refunded"], [1043, "shipped"]], files)
    want = scenario(
        artifacts=[
            {
                "path": "out/report.json",
                "regex": "total",
                "schema": {"type": "object", "required": ["total"]},
            }
        ],
        state=[{"sql": "select status from orders where id = 1042", "rows": [["refunded"]]}],
    )
    ok = run("final-state", view(snapshot=snap), want)
    assert ok.passed is True and ok.evidence == ["snap"]
    bad = db_snapshot([[1042, "delivered"]])
    failed = run("final-state", view(snapshot=bad), want)
    assert failed.passed is False
    assert "missing file out/report.json" in failed.rationale
    assert "returned [['delivered']], expected [['refunded']]" in failed.rationale
    assert run("final-state", view(), want).passed is False  # no snapshot at all


def test_table_schema() -> None:
    snap = db_snapshot([])
    trace = view(snapshot=snap)
    ok = run("table-schema", trace, table="orders", columns={"id": "integer", "status": "TEXT"})
    assert ok.passed is True
    assert run("table-schema", trace, table="orders", columns={"id": "TEXT"}).passed is False
    assert run("table-schema", trace, table="nope", columns={}).passed is False


def test_budgets_and_metrics_on_known_numbers() -> None:
    trace = view(
        llm("l1", 1, 100, 20, model="gpt"),
        llm("l2", 2, 300, 40, model="gpt"),
        tool("t1", "a", 3),
        tool("t2", "b", 4, error="E: x"),
        seconds=8,
    )
    values = {
        name: run("metric", trace, name=name).value
        for name in (
            "input_tokens",
            "output_tokens",
            "total_tokens",
            "llm_calls",
            "tool_calls",
            "tool_failure_ratio",
            "steps",
            "latency_s",
            "latency_tool_s",
        )
    }
    assert values == {
        "input_tokens": 400,
        "output_tokens": 60,
        "total_tokens": 460,
        "llm_calls": 2,
        "tool_calls": 2,
        "tool_failure_ratio": 0.5,
        "steps": 4,
        "latency_s": 8.0,
        "latency_tool_s": 0.2,
    }
    assert run("metric", trace, name="total_tokens").passed is None  # a value, not a verdict
    assert run("metric", trace, name="total_tokens", budget=500).passed is True
    assert run("metric", trace, name="total_tokens", budget=400).passed is False
    priced = run(
        "metric",
        trace,
        name="cost_usd",
        prices={"gpt": {"input_per_1m": 2.0, "output_per_1m": 8.0}},
    )
    assert priced.value == pytest.approx(400 * 2e-6 + 60 * 8e-6)
    assert run("budgets", trace, scenario(budgets={"tool_calls": 2, "total_tokens": 500})).passed
    over = run("budgets", trace, scenario(budgets={"tool_calls": 1}))
    assert over.passed is False and "tool_calls = 2 > 1" in over.rationale
    assert run("budgets", trace, scenario()).status == "skipped"


def test_unknown_metric_is_a_judge_error_not_a_fail() -> None:
    verdict = run("metric", view(), name="bogus")
    assert verdict.status == "error" and verdict.passed is None
    assert "unknown metric 'bogus'" in verdict.error


# A refund desk: look-ups only read; refunds and cancellations change state.
READS = ["find_order", "search_customer", "read_policy"]
REFUND_TASK = scenario(
    tool_calls=[
        {"name": "search_customer", "args": {"name": "Ana"}},
        {"name": "find_order", "args": {"order_id": 1042}},
        {"name": "issue_refund", "args": {"order_id": 1042}},
    ]
)


def trajectory(*steps: tuple[str, dict] | tuple[str, dict, str]):
    return view(
        *(
            tool(f"t{i}", s[0], i, s[1], None if len(s) > 2 else {"ok": True}, *s[2:])
            for i, s in enumerate(steps, start=1)
        )
    )


def test_read_only_tools_let_an_agent_search_differently() -> None:
    searched_differently = trajectory(
        ("find_order", {"order_id": 1042}),
        ("read_policy", {}),
        ("issue_refund", {"order_id": 1042}),
    )  # never searched the customer, looked the order up first, read the policy
    strict = run("expected-tool-calls", searched_differently, REFUND_TASK, mode="exact")
    assert strict.passed is False and "search_customer" in strict.rationale
    ok = run(
        "expected-tool-calls", searched_differently, REFUND_TASK, mode="exact", read_only=READS
    )
    assert ok.passed is True and ok.evidence == ["t3"]


def test_exact_mode_fails_an_extra_state_changing_call() -> None:
    extra_refund = trajectory(
        ("search_customer", {"name": "Ana"}),
        ("issue_refund", {"order_id": 1042}),
        ("issue_refund", {"order_id": 1042}),
    )
    assert run("expected-tool-calls", extra_refund, REFUND_TASK, read_only=READS).passed  # subset
    failed = run("expected-tool-calls", extra_refund, REFUND_TASK, mode="exact", read_only=READS)
    assert failed.passed is False and "not expected" in failed.rationale
    other = trajectory(("issue_refund", {"order_id": 1042}), ("cancel_order", {"order_id": 7}))
    assert not run("expected-tool-calls", other, REFUND_TASK, mode="exact", read_only=READS).passed
    missing = trajectory(("find_order", {"order_id": 1042}))
    gone = run("expected-tool-calls", missing, REFUND_TASK, mode="exact", read_only=READS)
    assert gone.passed is False and "issue_refund{'order_id': 1042}: 0 call(s)" in gone.rationale


def test_exact_mode_counts_duplicates_and_assigns_overlapping_expectations() -> None:
    two_refunds = scenario(
        tool_calls=[
            {"name": "issue_refund"},  # any refund ...
            {"name": "issue_refund", "args": {"order_id": 1042}},  # ... and this one
        ],
        tool_call_mode="exact",
    )
    # a greedy matcher would give t1 (order 1042) to the first expectation and fail
    both = trajectory(("issue_refund", {"order_id": 1042}), ("issue_refund", {"order_id": 9}))
    assert run("expected-tool-calls", both, two_refunds).passed is True
    one = trajectory(("issue_refund", {"order_id": 1042}))
    assert run("expected-tool-calls", one, two_refunds).passed is False
    up_to_two = scenario(tool_calls=[{"name": "issue_refund", "max": 2}], tool_call_mode="exact")
    assert run("expected-tool-calls", both, up_to_two).passed is True


def test_sequence_mode_needs_the_expected_calls_in_order_and_nothing_else() -> None:
    steps = scenario(
        tool_calls=[{"name": "cancel_order"}, {"name": "issue_refund"}], tool_call_mode="sequence"
    )
    in_order = trajectory(("find_order", {}), ("cancel_order", {}), ("issue_refund", {}))
    assert run("expected-tool-calls", in_order, steps, read_only=READS).passed is True
    swapped = trajectory(("issue_refund", {}), ("cancel_order", {}))
    failed = run("expected-tool-calls", swapped, steps, read_only=READS)
    assert failed.passed is False and "got issue_refund" in failed.rationale
    again = trajectory(("cancel_order", {}), ("issue_refund", {}), ("issue_refund", {}))
    assert run("expected-tool-calls", again, steps, read_only=READS).passed is False
    # the judge's mode is the default; the scenario's own mode wins
    assert run("expected-tool-calls", swapped, steps, mode="subset").passed is False


def test_errored_state_changing_calls_do_not_count() -> None:
    declined_then_done = trajectory(
        ("find_order", {"order_id": 1042}, "NotFound: no such order"),
        ("issue_refund", {"order_id": 1042}, "PaymentError: card expired"),
        ("issue_refund", {"order_id": 1042}),
    )
    task = scenario(tool_calls=[{"name": "issue_refund", "args": {"order_id": 1042}}])
    exact = run("expected-tool-calls", declined_then_done, task, mode="exact", read_only=READS)
    assert exact.passed is True and exact.evidence == ["t3"]
    only_declined = trajectory(("issue_refund", {"order_id": 1042}, "PaymentError: card expired"))
    assert run("expected-tool-calls", only_declined, task, read_only=READS).passed is False
    counted = run(
        "expected-tool-calls", only_declined, task, read_only=READS, only_successful=False
    )
    assert counted.passed is True
    # with no tool declared read-only, costar cannot tell a failed look-up from a failed
    # change: errored calls count unless the judge says only_successful
    lookup = scenario(tool_calls=[{"name": "find_order", "args": {"order_id": 1042}}])
    not_found = trajectory(("find_order", {"order_id": 1042}, "NotFound: no such order"))
    assert run("expected-tool-calls", not_found, lookup).passed is True
    assert run("expected-tool-calls", only_declined, task, only_successful=True).passed is False


def test_ignore_removes_expected_and_made_calls_alike() -> None:
    task = scenario(tool_calls=[{"name": "log_event"}, {"name": "issue_refund"}])
    no_log = trajectory(("issue_refund", {}))
    assert run("expected-tool-calls", no_log, task).passed is False
    assert run("expected-tool-calls", no_log, task, ignore=["log_event"]).passed is True
    only_reads = scenario(tool_calls=[{"name": "find_order"}])
    skipped = run("expected-tool-calls", no_log, only_reads, read_only=READS)
    assert skipped.status == "skipped"


def test_project_read_only_setting_reaches_the_default_check(tmp_path) -> None:
    from costar.judges import load_judges

    (tmp_path / "costar.toml").write_text(
        "[costar]\nread_only = ['find_order', 'search_customer']\n"
    )
    (check,) = load_judges(tmp_path, ["judges"], ["expected-tool-calls"])
    different = trajectory(("find_order", {"order_id": 1042}), ("issue_refund", {"order_id": 1042}))
    assert check.score(different, REFUND_TASK).passed is True
    (plain,) = load_judges(tmp_path, ["judges"], ["expected-tool-calls"], read_only=[])
    assert plain.score(different, REFUND_TASK).passed is False
    assert plain.version != check.version  # changing the setting re-scores
    scoped = scenario(
        tool_calls=REFUND_TASK.expectations.model_dump()["tool_calls"],
        read_only=["search_customer"],
    )
    assert plain.score(different, scoped).passed is True  # the scenario's own read-only tools


def test_a_conversation_ending_with_the_users_goodbye_keeps_the_agents_output() -> None:
    turns = (
        span("c1", "turn-1", "CHAIN", 0, 1, inputs="refund order 7", outputs="Refunded: 39.90."),
        span("c2", "turn-2", "CHAIN", 1, 2, inputs="thanks, bye!", outputs=None),
        span("c3", "turn-3", "CHAIN", 2, 3, inputs="###STOP###", outputs="  "),
    )
    ended = view(*turns, output=None)  # recorded before the root kept the last non-empty reply
    assert ended.output == "Refunded: 39.90."
    assert run("output-present", ended).passed is True
    silent = view(span("c1", "turn-1", "CHAIN", 0, 1, outputs=""), output="")
    assert run("output-present", silent).passed is False
