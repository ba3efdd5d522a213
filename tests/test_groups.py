"""Under real pytest-xdist workers, the tests of the shared servers and of a module-scoped fixture
each run in one worker (tests/_groups.py): a second worker would start a second PostgreSQL, Ray
cluster or module fixture beside the first."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # pytest in pytest, with two worker processes

RECORD = """
import os
from pathlib import Path


def record(request):
    line = os.environ["PYTEST_XDIST_WORKER"] + " " + request.node.nodeid + "\\n"
    with open(Path(__file__).parent / "seen.txt", "a") as out:
        out.write(line)
"""


def test_shared_server_and_module_fixture_tests_each_stay_in_one_worker(
    pytester: pytest.Pytester,
) -> None:
    shutil.copy(Path(__file__).parent / "_groups.py", pytester.path / "_groups.py")
    pytester.makeconftest(
        "import pytest\n\npytest_plugins = ['_groups']\n\n\n"
        "@pytest.fixture(scope='session')\ndef postgres():\n    return 'pg'\n"
    )
    pytester.makepyfile(_record=RECORD)

    def tests(n: int, args: str, name: str = "test") -> str:
        return "".join(f"\n\ndef {name}_{i}({args}):\n    record(request)\n" for i in range(n))

    head = "import pytest\n\nfrom _record import record\n"
    pytester.makepyfile(
        test_pg_a=head + tests(6, "postgres, request"),
        # a module that uses the server in one test: all its tests go with the server's
        test_pg_b=head + tests(4, "request") + tests(1, "postgres, request", "test_pg"),
        test_module=head
        + "\n\n@pytest.fixture(scope='module')\ndef shared():\n    return 1\n"
        + tests(6, "shared, request"),
        test_free=head + tests(8, "request"),
        # a module that starts servers of its own joins the shared servers' worker by marker
        test_own=head + "\npytestmark = pytest.mark.xdist_group('servers')\n" + tests(3, "request"),
    )
    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=28)

    workers: dict[str, set[str]] = defaultdict(set)
    ids: dict[str, list[str]] = defaultdict(list)
    for line in (pytester.path / "seen.txt").read_text().splitlines():
        worker, nodeid = line.split(" ", 1)
        module = nodeid.split("::")[0]
        workers[module].add(worker)
        ids[module].append(nodeid)
    servers = ["test_pg_a.py", "test_pg_b.py", "test_own.py"]
    assert len(set().union(*(workers[m] for m in servers))) == 1, dict(workers)
    assert len(workers["test_module.py"]) == 1, dict(workers)
    # xdist keeps a group together by the suffix it gives the test's id in the worker; a pytest
    # release that moved the id elsewhere once left every group spread over the workers
    assert all(i.endswith("@servers") for m in servers for i in ids[m]), dict(ids)
    assert all(i.endswith("@test_module.py") for i in ids["test_module.py"])
    assert not any("@" in i for i in ids["test_free.py"])
