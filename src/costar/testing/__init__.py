"""Test helpers for projects that use costar: the scripted fake LLM server, and pytest
fixtures for it in `costar.testing.fixtures` (`pytest_plugins = ["costar.testing.fixtures"]`)."""

from costar.llm import FakeLLM, Script, load_script, serve

__all__ = ["FakeLLM", "Script", "load_script", "serve"]
