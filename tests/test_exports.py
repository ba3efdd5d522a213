"""Each package's __all__ is exactly what it exports, and every name resolves."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "costar",
    "costar.scenarios",
    "costar.agents",
    "costar.llm",
    "costar.judges",
    "costar.assess",
    "costar.importers",
    "costar.gate",
    "costar.report",
    "costar.testing",
    "costar.harness",
    "costar.traces",
    "costar.cli",
    "costar.discover",
    "costar.explain",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_resolve_and_public_names_are_listed(name: str) -> None:
    module = importlib.import_module(name)
    for exported in module.__all__:
        assert getattr(module, exported) is not None
    public = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", "").startswith(name + ".")
    }
    assert public <= set(module.__all__), public - set(module.__all__)


def test_top_level_exports_load_lazily() -> None:
    import costar

    assert costar.tool.__name__ == "tool"
    with pytest.raises(AttributeError):
        costar.not_a_thing  # noqa: B018
