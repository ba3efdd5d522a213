"""How `make test` spreads the suite over pytest-xdist workers (`--dist loadgroup`): the tests
of one shared server in one worker, a module-scoped fixture's tests in one worker, the longest
work first. tests/test_groups.py checks it under real workers."""

from __future__ import annotations

import pytest

# the session fixtures of real servers: under pytest-xdist every test of a module that uses one
# runs in one worker, so the session starts each server once (a Ray cluster per worker would not
# fit 2 cores) and no other Ray starts beside it; a module that starts such servers of its own
# joins them with `pytest.mark.xdist_group("servers")`
SHARED_SERVERS = {"postgres", "mlflow_pg", "ray_address"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups (--dist loadgroup)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One `xdist_group` per test: `servers` for the modules of the shared servers; the test's
    module where it uses a module- or class-scoped fixture (that fixture is then set up once,
    not once per worker); none otherwise, so the rest spread over the workers one by one.
    Then the longest work goes first, modules kept whole: the servers' group, the modules with
    `slow` or `loop` tests, the rest; workers hand out tests in this order, so a minute-long
    test no longer starts last and holds up the end of the run."""

    def fixtures(item: pytest.Item) -> tuple[set[str], set[str]]:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            return set(), set()
        scopes = {d.scope for defs in info.name2fixturedefs.values() for d in defs}
        return set(info.names_closure), scopes

    def marked_servers(item: pytest.Item) -> bool:
        return any(m.args[:1] == ("servers",) for m in item.iter_markers("xdist_group"))

    module = {item: item.nodeid.split("::")[0] for item in items}
    servers = {
        module[item] for item in items if fixtures(item)[0] & SHARED_SERVERS or marked_servers(item)
    }
    for item in items:
        if marked_servers(item):
            continue
        if module[item] in servers:
            item.add_marker(pytest.mark.xdist_group("servers"))
        elif fixtures(item)[1] & {"module", "class"}:
            item.add_marker(pytest.mark.xdist_group(module[item]))
    heavy = {
        module[item] for item in items if {"slow", "loop"} & {m.name for m in item.iter_markers()}
    }
    rank = {name: 0 if name in servers else 1 if name in heavy else 2 for name in module.values()}
    items.sort(key=lambda item: rank[module[item]])
