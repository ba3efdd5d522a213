"""Test helpers for projects that use costar: the scripted fake LLM server."""

from costar.llm import FakeLLM, Script, load_script, serve

__all__ = ["FakeLLM", "Script", "load_script", "serve"]
