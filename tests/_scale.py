"""Real parts for the scale-out tests: a throwaway PostgreSQL server, an `mlflow server` on it,
and a local Ray cluster, each on 127.0.0.1 and stopped at the end of the session.

PostgreSQL refuses to run as root: when the tests run as root (as CI does) the server runs as
the `postgres` user that Debian's package creates, in a folder handed to that user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from _mlflow_server import free_port

# Ray on this machine stays on the loopback address (set before ray is imported)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# the throwaway cluster and its drivers agree: no token (whatever ~/.ray holds)
os.environ.setdefault("RAY_AUTH_MODE", "disabled")


def postgres_bin() -> Path | None:
    """The folder of initdb, postgres and the client tools (Debian keeps it out of PATH)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _as_server_user() -> tuple[list[str], int | None]:
    """The command prefix that runs PostgreSQL's programs, and the uid that must own its folder."""
    if os.geteuid() != 0:
        return [], None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        pytest.fail("running as root needs the `postgres` user (apt-get install postgresql)")
    return ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"], (
        user.pw_uid
    )


@contextmanager
def postgres_server(superuser: str = "costar") -> Iterator[str]:
    """A PostgreSQL server in a temporary folder, `superuser` trusted on 127.0.0.1; yields its
    base URL (no database name)."""
    bindir = postgres_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (.ci/run installs the postgresql package)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    prefix, uid = _as_server_user()
    folder = Path(tempfile.mkdtemp(prefix="costar-pg-"))
    if uid is not None:
        os.chown(folder, uid, -1)
    data, port = folder / "data", free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", superuser, "-A", "trust"],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [*prefix, str(bindir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port)]
        + ["-k", str(folder), "-c", "max_connections=200", "-c", "fsync=off"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"postgresql+psycopg://{superuser}@127.0.0.1:{port}"
    try:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                psycopg.connect(f"postgresql://{superuser}@127.0.0.1:{port}/postgres").close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail("PostgreSQL did not start")
                time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)  # fast shutdown
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(base: str, name: str) -> str:
    """A new database on the server at `base`; returns its SQLAlchemy URL."""
    import psycopg

    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base}/{name}"


@contextmanager
def mlflow_on_postgres(db_url: str, artifacts: Path) -> Iterator[str]:
    """`mlflow server` with its backend store on PostgreSQL; yields the tracking URI."""
    port = free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlflow"), "server"]
        + ["--backend-store-uri", db_url, "--default-artifact-root", artifacts.as_uri()]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{uri}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("mlflow server on PostgreSQL did not start")
            time.sleep(0.3)
        yield uri
    finally:
        stop_group(proc)


@contextmanager
def ray_cluster(cpus: int = 2) -> Iterator[str]:
    """A local Ray head node with `cpus` worker slots on 127.0.0.1; yields its address."""
    temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths must be short
    port = free_port()
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block"]
        + ["--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", str(cpus)]
        + ["--include-dashboard", "false", "--disable-usage-stats", "--temp-dir", str(temp)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not list(temp.glob("session_latest/sockets/raylet*")):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("ray start did not start a head node")
            time.sleep(0.3)
        time.sleep(1.0)
        yield address
    finally:
        # `ray start --block` takes SIGTERM as a cue to wait for its daemons, which a throwaway
        # cluster in a temporary folder need not do: it sat out the whole grace before
        stop_group(proc, grace=3)
        shutil.rmtree(temp, ignore_errors=True)


def stop_group(proc: subprocess.Popen, grace: float = 30) -> None:
    """SIGTERM to the process group, SIGKILL after `grace` seconds."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
