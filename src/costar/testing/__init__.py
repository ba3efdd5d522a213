"""Test helpers for projects that use costar: the scripted fake LLM server."""

from costar.llm._fake import FakeLLM, serve
from costar.llm._script import Script, load_script

__all__ = ["FakeLLM", "Script", "load_script", "serve"]
