"""Shared fixtures: a migrated MLflow store copied per test, projects and suites on disk."""

from __future__ import annotations

import fcntl
import gc
import os
import shutil
import sys
from pathlib import Path

import pytest

from _helpers import write_files
from costar._env import quiet_dependencies

TESTS = Path(__file__).parent
sys.path.insert(0, str(TESTS))  # sample_agents for in-process runs

quiet_dependencies()

# the shared fixtures (fake_llm), the check that a run leaves the checkout as it found it and
# the xdist groups
pytest_plugins = ["costar.testing.fixtures", "_clean_checkout", "_groups", "pytester"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported and collected so far lives for the whole run: frozen, the garbage
    collector stops walking it on every full collection (the in-process tests allocate a lot)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("COSTAR_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def template_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One MLflow SQLite store with migrations applied; copying it is far cheaper than migrating.
    Under xdist the first worker to ask migrates it, under a lock, in the run's shared temp
    folder; the others wait and copy it."""
    from costar.traces import TraceStore

    root = tmp_path_factory.getbasetemp()
    if hasattr(request.config, "workerinput"):
        root = root.parent  # the run's folder, above every worker's own
    folder = root / "template"
    with open(root / "template.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "ready").exists():
            folder.mkdir(exist_ok=True)
            store = TraceStore(f"sqlite:///{folder / 'mlflow.db'}")
            store._connect()
            store._tracing.store  # noqa: B018 - opening the store runs the migrations
            (folder / "ready").touch()
    return folder / "mlflow.db"


@pytest.fixture
def store_uri(tmp_path: Path, template_db: Path) -> str:
    target = tmp_path / ".costar" / "mlflow.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db, target)
    return f"sqlite:///{target}"


@pytest.fixture
def project(tmp_path: Path, store_uri: str) -> Path:
    """A project folder with costar.toml (store in the project) and the sample agents."""
    shutil.copyfile(TESTS / "sample_agents.py", tmp_path / "sample_agents.py")
    write_files(tmp_path, {"costar.toml": "[costar]\nsuite = 'scenarios'\nconcurrency = 4\n"})
    return tmp_path


@pytest.fixture(scope="session")
def postgres():
    """A throwaway PostgreSQL server on 127.0.0.1 (base URL, no database name)."""
    from _scale import postgres_server

    with postgres_server() as base:
        yield base


@pytest.fixture(scope="session")
def mlflow_pg(postgres: str, tmp_path_factory: pytest.TempPathFactory):
    """An `mlflow server` whose backend store is a database on that PostgreSQL."""
    from _scale import create_database, mlflow_on_postgres

    url = create_database(postgres, "mlflow")
    with mlflow_on_postgres(url, tmp_path_factory.mktemp("pg-artifacts")) as uri:
        yield uri


@pytest.fixture(scope="session")
def ray_address():
    """A local two-worker Ray cluster on 127.0.0.1, stopped at the end of the session."""
    from _scale import ray_cluster

    with ray_cluster(cpus=2) as address:
        yield address
