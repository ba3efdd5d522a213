"""costar.tool and costar.span: what an instrumented Python agent records."""

from __future__ import annotations

import pytest

import costar
from costar.traces import Recorder, recording


@costar.tool(name="lookup_order")
def lookup(order_id: int, verbose: bool = False) -> dict:
    return {"id": order_id}


def test_tools_record_nothing_outside_a_run() -> None:
    assert lookup(3) == {"id": 3}


def test_decorator_context_manager_and_nesting() -> None:
    recorder = Recorder(default_parent=1)
    with recording(recorder):
        with costar.span("plan", inputs="what to do") as plan:
            lookup(7)
            with costar.tool("search", query="kettle") as call:
                call.result = ["kettle"]
            plan.outputs = "done"
        with pytest.raises(ValueError), costar.tool("explode"):
            raise ValueError("bad")
    by_name = {s.name: s for s in recorder.spans}
    assert by_name["lookup_order"].inputs == {"order_id": 7, "verbose": False}
    assert by_name["lookup_order"].parent_id == by_name["plan"].span_id
    assert by_name["search"].inputs == {"query": "kettle"}
    assert by_name["search"].outputs == ["kettle"]
    assert by_name["plan"].parent_id == 1  # top-level steps hang under the turn or root
    assert by_name["plan"].outputs == "done"
    assert by_name["explode"].error == "ValueError: bad"


def test_context_manager_needs_a_name() -> None:
    with pytest.raises(TypeError, match="needs a name"), costar.tool():
        pass
