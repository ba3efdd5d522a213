"""Per-model rate limits for costar's LLM calls: token buckets of requests and tokens per minute.

Limits come from the `rate_limits` setting ({model: {requests_per_minute, tokens_per_minute}},
`*` for any model not named) in costar.toml or COSTAR_RATE_LIMITS (the same as JSON). In one
process the buckets are shared by its threads; on Ray they live in one named actor that every
worker of the cluster asks, so a thousand workers together stay under the provider's limits. A
call waits for a request slot before it is sent, and its tokens are taken from the bucket when
the answer says how many it used (the bucket may go below zero: the calls after it wait it off).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from costar._exceptions import ConfigError
from costar.config import env_setting, env_var

ENV = env_var("rate_limits")  # how the driver hands its limits to Ray workers
ACTOR = "costar-rate-limits"
_FIELDS = {"requests_per_minute", "tokens_per_minute"}


@dataclass
class _Bucket:
    per_minute: float
    level: float = field(init=False)
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.level = self.per_minute

    def refill(self, now: float) -> None:
        self.level = min(self.per_minute, self.level + (now - self.at) * self.per_minute / 60)
        self.at = now

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is in the bucket (0 when it is now)."""
        return max(0.0, (amount - self.level) * 60 / self.per_minute)


class Buckets:
    """The buckets of every limited model; `reserve` and `spend` are the whole protocol."""

    def __init__(self, limits: dict[str, dict[str, float]]):
        self.limits = limits
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def _limit(self, model: str) -> dict[str, float]:
        return self.limits.get(model) or self.limits.get("*") or {}

    def _bucket(self, model: str, kind: str) -> _Bucket | None:
        rate = self._limit(model).get(kind)
        if not rate:
            return None
        key = (model if model in self.limits else "*", kind)
        if key not in self._buckets:
            self._buckets[key] = _Bucket(float(rate))
        return self._buckets[key]

    def reserve(self, model: str) -> float:
        """Take one request slot for `model` and return 0, or return the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            requests = self._bucket(model, "requests_per_minute")
            tokens = self._bucket(model, "tokens_per_minute")
            waits = []
            for bucket, need in ((requests, 1.0), (tokens, 1.0)):
                if bucket is not None:
                    bucket.refill(now)
                    waits.append(bucket.wait_for(need))
            wait = max(waits, default=0.0)
            if wait == 0 and requests is not None:
                requests.level -= 1
            return wait

    def spend(self, model: str, tokens: int) -> None:
        """Take the tokens a finished call used."""
        with self._lock:
            bucket = self._bucket(model, "tokens_per_minute")
            if bucket is not None:
                bucket.refill(time.monotonic())
                bucket.level -= tokens


def parse_limits(raw: Any, where: str = ENV) -> dict[str, dict[str, float]]:
    """Limits from the setting or its JSON; a ConfigError names what is wrong."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{where}: not JSON ({exc.msg}); write {{\"MODEL\": "
                              "{\"requests_per_minute\": 60}}") from exc  # fmt: skip
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: must map model names to limits")
    out: dict[str, dict[str, float]] = {}
    for model, limit in raw.items():
        if not isinstance(limit, dict) or not set(limit) <= _FIELDS:
            raise ConfigError(
                f"{where}: {model!r}: give requests_per_minute and/or tokens_per_minute"
            )
        if any(not isinstance(v, (int, float)) or v <= 0 for v in limit.values()):
            raise ConfigError(f"{where}: {model!r}: limits must be positive numbers")
        out[str(model)] = {k: float(v) for k, v in limit.items()}
    return out


class RateLimiter:
    """What a client asks before each call: this process's buckets, or the cluster's actor."""

    def __init__(self, limits: dict[str, dict[str, float]], actor: Any = None):
        self.limits = limits
        self._local = Buckets(limits)
        self._actor = actor

    def acquire(self, model: str) -> None:
        """Wait until a request to `model` is allowed."""
        if not (self.limits.get(model) or self.limits.get("*")):
            return
        while True:
            wait = self._reserve(model)
            if wait <= 0:
                return
            time.sleep(min(wait, 5.0))

    def spend(self, model: str, tokens: int) -> None:
        if tokens and (self.limits.get(model) or self.limits.get("*")):
            if self._actor is not None:
                self._actor.spend.remote(model, tokens)
            else:
                self._local.spend(model, tokens)

    def _reserve(self, model: str) -> float:
        if self._actor is not None:
            import ray

            wait: float = ray.get(self._actor.reserve.remote(model))
            return wait
        return self._local.reserve(model)


_limiter: RateLimiter | None = None
_lock = threading.Lock()


def configure(limits: dict[str, dict[str, float]] | None) -> None:
    """Set this process's limits (the CLI calls this with the settings); None clears them."""
    global _limiter
    with _lock:
        _limiter = RateLimiter(parse_limits(limits, "rate_limits")) if limits else None
    if limits:
        os.environ[ENV] = json.dumps(limits)  # workers (Ray's runtime env) get the same
    else:
        os.environ.pop(ENV, None)


def limiter() -> RateLimiter | None:
    """This process's limiter: configured, or from COSTAR_RATE_LIMITS (on a Ray worker, the
    cluster's shared actor)."""
    global _limiter
    with _lock:
        given = env_setting("rate_limits") if _limiter is None else None
        if given:
            limits = parse_limits(given)
            _limiter = RateLimiter(limits, _cluster_actor(limits))
        return _limiter


def _cluster_actor(limits: dict[str, dict[str, float]]) -> Any:
    """The cluster's shared buckets when this process is connected to Ray, else None."""
    try:
        import ray
    except ImportError:
        return None
    if not ray.is_initialized():
        return None
    return shared_buckets(limits)


def shared_buckets(limits: dict[str, dict[str, float]]) -> Any:
    """The named actor holding the buckets of the Ray job (made by the first who asks; the
    driver asks first, so it lives as long as the run)."""
    import ray

    remote = ray.remote(num_cpus=0)(Buckets)
    return remote.options(name=ACTOR, get_if_exists=True).remote(limits)


def share_rate_limits(env: dict[str, str]) -> None:
    """Give every Ray worker of this job one set of buckets, from the limits in `env`
    (COSTAR_RATE_LIMITS), once the driver has joined the cluster."""
    given = env_setting("rate_limits", env)
    if given:
        shared_buckets(parse_limits(given))
