"""Ray for any step that uses it (the harness's trials, assess's judges): importing it with
telemetry off and loopback-only on this machine, the environment workers get, joining a
cluster or starting a local one, and leaving it."""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from typing import Any

from costar._exceptions import ConfigError

MAX_RETRIES = 3  # a trial's worker may die this often before it is recorded as an error
_PASSED_PREFIXES = ("COSTAR_", "MLFLOW_", "OPENAI_")
_QUIET = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}

_temp_dirs: dict[str, str] = {}  # of the local Ray this process started


def disconnect() -> None:
    """Leave the cluster; a local Ray this process started is stopped and its folder removed."""
    import ray

    ray.shutdown()
    if folder := _temp_dirs.pop("local", None):
        shutil.rmtree(folder, ignore_errors=True)


def on_this_machine(address: str | None) -> bool:
    """Whether `address` is a Ray started here (none: a local Ray is started)."""
    return not address or address.startswith(("127.", "localhost"))


def import_ray(address: str | None = "") -> Any:
    """The ray module, or a ConfigError saying how to install it. For a Ray on this machine,
    Ray is kept to the loopback address (it would otherwise reach its own node by the
    machine's network address)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address != "" and on_this_machine(address) and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    if not address and address != "":
        # a loopback-only Ray for one command: no token written into ~/.ray
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    try:
        import ray
    except ImportError as exc:
        raise ConfigError(
            "the ray executor needs Ray: pip install 'costar[ray]' (or use --executor local)"
        ) from exc
    return ray


def worker_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment variables a worker gets: costar's, MLflow's and OpenAI's settings of
    this process, telemetry off."""
    env = {k: v for k, v in os.environ.items() if k.startswith(_PASSED_PREFIXES)}
    env.update({k: os.environ.get(k, v) for k, v in _QUIET.items()})
    env.update(extra or {})
    return env


def check_reachable(address: str, seconds: float = 10.0) -> None:
    """A ConfigError at once when nothing listens at a host:port address: ray.init would
    otherwise retry for minutes, printing connection warnings. `auto` and other forms pass."""
    import socket

    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or "/" in hostport:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConfigError(
            f"no Ray cluster answers at {address} ({reason}): start one there with "
            f"`ray start --head --port {port}`, or fix --address (ray_address in costar.toml)"
        ) from exc


def connect(address: str | None, workers: int, env: dict[str, str]) -> bool:
    """Join the cluster at `address`, or start a local one; True when this call started Ray
    (and so the caller shuts it down)."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    runtime_env = {"env_vars": env}
    quiet: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if address:
            check_reachable(address)
            if on_this_machine(address):
                quiet["_node_ip_address"] = "127.0.0.1"
            ray.init(address=address, runtime_env=runtime_env, **quiet)
        else:  # its own folder: other Ray instances on this machine keep theirs
            ray.init(
                num_cpus=workers,
                include_dashboard=False,
                _node_ip_address="127.0.0.1",
                _temp_dir=_temp_dirs.setdefault("local", tempfile.mkdtemp(prefix="costar-ray-")),
                runtime_env=runtime_env,
                **quiet,
            )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local Ray"
        raise ConfigError(
            f"cannot start or reach the Ray cluster at {where}: {exc} "
            "(check --address, or run `ray start --head` first)"
        ) from exc
    return True
