"""The representations and the grouping behind coverage, generation and discover: the embedding
path goes through costar.llm (here the fake's embeddings endpoint, whose vectors are hashes of
the texts and carry no meaning), and grouping is the same for the same texts and seed, in
another process too."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from _shop import PHRASES

from costar.discover import analyse
from costar.discover._space import agglomerate
from costar.llm import FakeLLM, close_clients

TEXTS = [
    p.format(n=1000 + i, item=item)
    for i, (key, phrases) in enumerate(sorted(PHRASES.items()))
    for p in phrases
    for item in ("kettle", "toaster")
]
SCENARIOS = ["Where is my order 1043?", "My kettle from order 1042 arrived broken, refund."]


@pytest.fixture
def embedder(monkeypatch: pytest.MonkeyPatch):
    with FakeLLM({"default": {"text": "unused"}}) as fake:
        for key, value in fake.env("openai:/embedder").items():
            monkeypatch.setenv(key, value)
        yield fake
        close_clients()


def test_an_embedding_model_gives_the_vectors_grouping_uses(embedder: FakeLLM) -> None:
    texts = ["Where is my order 1043?", "Where is my order 1044?", "Where is my order 1043?"]
    plain = analyse(texts, SCENARIOS)
    assert len(plain.groups) == 1  # words alike (numbers are dropped): one group without a model
    embedded = analyse(texts, SCENARIOS, embedding_model="openai:/embedder")
    assert embedded.representation == "embeddings openai:/embedder"
    # the fake's vectors are hashes: only equal texts meet, whatever their words
    assert sorted(sorted(g.members) for g in embedded.groups) == [[0, 2], [1]]
    assert embedded.nearest[0] == 0 and embedded.similarity[0] == pytest.approx(1.0, abs=1e-4)
    calls = [line for line in embedder.log if "/v1/embeddings" in line]
    assert calls == ["fake-llm: POST /v1/embeddings model=embedder -> 5 vectors (hashes of the "
                     "texts, no meaning)"]  # fmt: skip
    # TF-IDF still names the groups
    assert "order" in " ".join(embedded.groups[0].terms)


def test_grouping_is_the_same_for_the_same_texts_and_seed() -> None:
    first = analyse(TEXTS, SCENARIOS, seed=5)
    again = analyse(TEXTS, SCENARIOS, seed=5)
    assert [g.members for g in first.groups] == [g.members for g in again.groups]
    assert first.similarity == again.similarity
    # past the sample size a seeded sample is clustered and the rest assigned: the same seed,
    # the same labels
    vectors = first.space.vectors[: len(TEXTS)]
    one = agglomerate(vectors, 0.9, seed=3, sample_size=20)
    assert (one == agglomerate(vectors, 0.9, seed=3, sample_size=20)).all()
    assert len(set(one.tolist())) > 1


GROUPS = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from test_space import SCENARIOS, TEXTS
from costar.discover import analyse
a = analyse(TEXTS * 8, SCENARIOS, seed=5)  # enough texts for LSA: its SVD is seeded
print(json.dumps([[g.name, g.members] for g in a.groups]))
"""


@pytest.mark.slow
def test_grouping_is_the_same_in_another_process() -> None:
    here = os.path.dirname(__file__)
    outs = []
    for hash_seed in ("1", "2"):  # Python's string hashing differs between the two
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", GROUPS, here, os.path.dirname(here)],
            capture_output=True,
            text=True,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        outs.append(json.loads(done.stdout))
    assert outs[0] == outs[1] and len(outs[0]) > 1
