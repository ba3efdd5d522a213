"""The README's deployment page, followed command by command on 127.0.0.1.

The test reads the page's shell block and runs each command as written, with only its
placeholders filled (PASSWORD, DBHOST, MLFLOWHOST, HEADHOST, BUCKET) and what one machine and
the loopback rule need: every address is 127.0.0.1, ports are free ones, artifacts go to a local
folder, and Ray gets a short temp folder and a blocking head. `sudo -u postgres` becomes a
connection as the throwaway server's superuser. A worker joining from another machine cannot
be followed here; the test says so by checking that the page still tells the reader to.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from _helpers import write_files
from _mlflow_server import free_port
from _scale import postgres_bin, postgres_server, stop_group

# slow; and in the shared servers' worker, so its Ray head never runs beside the session's Ray
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("servers")]

README = Path(__file__).resolve().parents[1] / "README.md"
_EXTRA = re.compile(r"extra == ['\"]([\w-]+)['\"]")
PASSWORD = "page-password"  # the throwaway server trusts 127.0.0.1; the page's URLs carry one


def page_commands() -> list[str]:
    """The shell commands of the deployment page's first ```bash block, continuations joined."""
    text = README.read_text(encoding="utf-8")
    section = text.split("## Scale out: Ray, and an MLflow server on PostgreSQL", 1)[1]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    lines = block.replace("\\\n", " ").splitlines()
    commands = [line.split(" #", 1)[0].strip() for line in lines]
    return [" ".join(c.split()) for c in commands if c and not c.startswith("#")]


def test_the_page_still_has_the_steps_this_test_follows() -> None:
    commands = page_commands()
    words = [c.split()[:3] for c in commands]
    assert ["pip", "install", "'costar[ray,postgres]'"] in words
    assert sum(c.startswith("sudo -u postgres create") for c in commands) == 3
    assert any(c.startswith("mlflow server --backend-store-uri postgresql") for c in commands)
    assert "ray start --address HEADHOST:6379" in commands  # the step one machine cannot take
    assert [c for c in commands if c.startswith("costar ")] == [
        "costar run --executor ray --address HEADHOST:6379 --trials 5",
        "costar assess --last --executor ray --address HEADHOST:6379",
    ]


def _extras_installed(spec: str) -> None:
    """`pip install 'costar[a,b]'`: the extras exist and what they name is importable here."""
    from importlib.metadata import requires

    extras = re.search(r"\[(.+)\]", spec).group(1).split(",")  # type: ignore[union-attr]
    declared = {m.group(1) for r in requires("costar") or [] if (m := _EXTRA.search(r))}
    assert set(extras) <= declared, f"pyproject.toml has no extra {set(extras) - declared}"
    import psycopg  # noqa: F401
    import ray  # noqa: F401


@contextmanager
def _process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        stop_group(proc, grace=5)  # throwaway servers; `ray start --block` sits out any grace


def _wait(ready, what: str, proc: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline or proc.poll() is not None:
            pytest.fail(f"{what} did not start as the README's deployment page says")
        time.sleep(0.3)


def _healthy(uri: str) -> bool:
    try:
        return httpx.get(f"{uri}/health", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.timeout(900)  # three servers and two Ray commands; slow under a loaded machine
def test_following_the_deployment_page_gives_traces_and_verdicts_on_the_shared_stores(
    tmp_path: Path,
) -> None:
    bindir = postgres_bin()
    assert bindir is not None or not os.environ.get("CI"), "CI installs postgresql"
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    venv = Path(sys.executable).parent
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    project = tmp_path / "project"
    write_files(
        project,
        {
            "costar.toml": "[costar]\nagent = 'page_agent:agent'\nexperiment = 'page'\n",
            "page_agent.py": "def agent(ctx):\n    return f'answer {ctx.input}'\n",
            "scenarios/a.yaml": "id: a\ninput: q1\nexpectations:\n  reply_matches: [answer]\n",
            "scenarios/b.yaml": "id: b\ninput: q2\nexpectations:\n  reply_matches: [answer]\n",
        },
    )
    with ExitStack() as stack:
        base = stack.enter_context(postgres_server(superuser="postgres"))
        db_host = base.rsplit("@", 1)[1]
        host, db_port = db_host.split(":")
        mlflow_host = f"127.0.0.1:{free_port()}"
        ray_port = free_port()
        ray_temp = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # Ray's socket paths: short
        filled = {
            "PASSWORD": PASSWORD,
            "DBHOST": db_host,
            "MLFLOWHOST:5000": mlflow_host,
            "HEADHOST:6379": f"127.0.0.1:{ray_port}",
            "s3://BUCKET/mlflow": (tmp_path / "artifacts").as_uri(),
        }
        followed = []
        for command in page_commands():
            for placeholder, value in filled.items():
                command = command.replace(placeholder, value)
            argv = shlex.split(command)
            followed.append(argv[:2])
            if argv[:2] == ["pip", "install"]:
                _extras_installed(argv[2])
            elif argv[:3] == ["sudo", "-u", "postgres"]:
                # as the server's superuser over TCP; --pwprompt reads the password from stdin
                # when there is no terminal (a new session has none)
                tool = [str(bindir / argv[3]), "-h", host, "-p", db_port, "-U", "postgres"]
                done = subprocess.run(
                    tool + argv[4:],
                    input=f"{PASSWORD}\n{PASSWORD}\n",
                    capture_output=True,
                    text=True,
                    start_new_session=True,
                    timeout=60,
                )
                assert done.returncode == 0, f"{command}: {done.stderr}"
            elif argv[:2] == ["mlflow", "server"]:
                at = argv.index("--host")
                argv[at + 1] = "127.0.0.1"  # the page serves the team; a test serves loopback
                argv[argv.index("--port") + 1] = mlflow_host.split(":")[1]
                proc = stack.enter_context(_process([str(venv / "mlflow"), *argv[1:]], env))
                _wait(lambda: _healthy(f"http://{mlflow_host}"), "mlflow server", proc)
            elif argv[:3] == ["ray", "start", "--head"]:
                argv[argv.index("--port") + 1] = str(ray_port)
                one_machine = ["--node-ip-address", "127.0.0.1", "--num-cpus", "2", "--block"]
                one_machine += ["--include-dashboard", "false", "--temp-dir", str(ray_temp)]
                proc = stack.enter_context(
                    _process([str(venv / "ray"), *argv[1:], *one_machine], env)
                )
                _wait(
                    lambda: bool(list(ray_temp.glob("session_latest/sockets/raylet*"))),
                    "ray start --head",
                    proc,
                )
            elif argv[:2] == ["ray", "start"]:
                continue  # a worker on another machine: there is no other machine here
            elif argv[0] == "export":
                name, value = argv[1].split("=", 1)
                env[name] = value
            elif argv[0] == "costar":
                done = subprocess.run(
                    [str(venv / "costar"), *argv[1:]],
                    cwd=project,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
            else:
                pytest.fail(f"the deployment page has a step this test does not follow: {command}")
        assert ["costar", "assess"] in followed

        # the run's traces are in the MLflow server, its verdicts in the verdicts database
        shown = subprocess.run(
            [str(venv / "costar"), "runs", "--json"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        (run,) = json.loads(shown.stdout)
        assert run["counts"] == {"ok": 10} or run["counts"].get("ok") == 10, run
        import psycopg

        verdicts_db = f"postgresql://costar:{PASSWORD}@{db_host}/verdicts"
        with psycopg.connect(verdicts_db) as conn:
            (count,) = conn.execute("SELECT count(*) FROM costar_verdicts").fetchone()  # type: ignore[misc]
            passed = conn.execute(
                "SELECT count(*) FROM costar_verdicts WHERE judge = 'reply-matches' AND passed"
            ).fetchone()
        assert count > 0
        assert passed == (10,)
