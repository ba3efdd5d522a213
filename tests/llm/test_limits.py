"""Per-model rate limits: token buckets of requests and tokens per minute, shared by threads."""

from __future__ import annotations

from pathlib import Path

import pytest

from costar._exceptions import ConfigError
from costar.llm import LLMClient
from costar.llm._fake import FakeLLM
from costar.llm._limits import Buckets, configure, limiter, parse_limits


def test_a_model_gets_a_minutes_requests_at_once_then_waits_for_the_next() -> None:
    buckets = Buckets({"openai:/m": {"requests_per_minute": 60}})
    assert [buckets.reserve("openai:/m") for _ in range(60)] == [0.0] * 60
    wait = buckets.reserve("openai:/m")
    assert 0.9 < wait <= 1.0  # one request a second after the burst
    assert buckets.reserve("openai:/other") == 0.0  # models not named are not limited


def test_tokens_used_are_taken_after_the_call_and_hold_the_next_ones_back() -> None:
    buckets = Buckets({"*": {"tokens_per_minute": 600}})
    assert buckets.reserve("any") == 0.0
    buckets.spend("any", 660)  # the call used more than the bucket held
    assert buckets.reserve("any") > 5.0  # 60 tokens in debt at 10 per second, then one more


def test_the_client_counts_each_answers_tokens_against_its_model() -> None:
    script = {"rules": [{"reply": {"text": "a reply of a few words"}}]}
    configure({"*": {"tokens_per_minute": 1000}})
    try:
        with FakeLLM(script) as fake, LLMClient("openai:/m", fake.base_url, "k") as client:
            client.chat([{"role": "user", "content": "hello there"}])
            used = fake.usage[0]["total_tokens"]
        found = limiter()
        assert found is not None
        level = found._local._buckets[("*", "tokens_per_minute")].level
    finally:
        configure(None)
    assert used > 0 and 1000 - used <= level < 1000 - used + 2  # (plus a moment's refill)
    assert limiter() is None  # cleared: calls are not limited


@pytest.mark.parametrize(
    "raw, message",
    [
        ("{not json", "not JSON"),
        ({"m": {"rpm": 5}}, "give requests_per_minute and/or tokens_per_minute"),
        ({"m": {"requests_per_minute": 0}}, "limits must be positive numbers"),
    ],
)
def test_bad_limits_say_what_is_wrong(raw, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_limits(raw)


def _take_slots(n: int) -> int:
    """On a Ray worker: take n request slots for openai:/m from the cluster's limiter."""
    from costar.llm._limits import limiter

    found = limiter()
    assert found is not None and found._actor is not None  # the shared actor, not a local one
    for _ in range(n):
        found.acquire("openai:/m")
    return n


@pytest.mark.slow
def test_ray_workers_draw_on_one_bucket_for_the_whole_cluster(ray_address: str) -> None:
    import json

    import ray

    from costar._ray import connect, worker_env
    from costar.llm import share_rate_limits
    from costar.llm._limits import ENV, shared_buckets

    limits = {"openai:/m": {"requests_per_minute": 10}}
    here = str(Path(__file__).parent)  # workers import _take_slots from this module
    env = worker_env({ENV: json.dumps(limits), "PYTHONPATH": here})
    started = connect(ray_address, 2, env)
    assert started
    share_rate_limits(env)  # what the executors do once they have joined
    try:
        task = ray.remote(num_cpus=1)(_take_slots)
        assert ray.get([task.remote(5), task.remote(5)]) == [5, 5]  # two workers, 10 slots
        buckets = shared_buckets(limits)
        assert ray.get(buckets.reserve.remote("openai:/m")) > 0  # the minute's slots are gone
    finally:
        ray.shutdown()
