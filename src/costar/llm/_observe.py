"""Call observers: what sees each chat call the client makes, without the client knowing who.

The model interface is a leaf and records nothing itself. A step that wants to see model calls
adds an observer: costar.agents, which the harness runs agents through, adds costar.traces'
`record_llm_call`, so a call inside a trial becomes one of its CHAT_MODEL spans. An observer is
called with the ModelCall before the request and returns None (not this call) or a context
manager entered around the call. What it yields is an Observation: its `served` may hold a
recorded answer (an assistant message) that the client returns instead of calling the model (a
replayed trial); its `finished` is given the ChatResult. An exception from the call passes
through the context manager.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from costar.llm._types import ChatResult


@dataclass(frozen=True)
class ModelCall:
    """One chat call as observers see it, before it is made."""

    model: str  # the model's name at its endpoint
    provider: str
    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None


class Observation(Protocol):
    """What an observer yields around one call."""

    served: dict[str, Any] | None  # a recorded assistant message to answer with, or None

    def finished(self, result: ChatResult) -> None:
        """The call's result (the model's, or the one built from `served`)."""


# An observer: given the call, a context manager around it, or None to stay out of it
CallObserver = Callable[[ModelCall], AbstractContextManager[Observation] | None]

_observers: list[CallObserver] = []
_lock = threading.Lock()


def add_call_observer(observer: CallObserver) -> Callable[[], None]:
    """Show every chat call in this process to `observer`; returns a function that removes it.

    Adding an observer already there changes nothing, and so does the function this second
    call returns: whoever added it first (costar.agents, say) keeps it."""
    with _lock:
        if observer in _observers:
            return lambda: None
        _observers.append(observer)
    return lambda: remove_call_observer(observer)


def remove_call_observer(observer: CallObserver) -> None:
    """Stop showing calls to `observer` (nothing happens if it was not added)."""
    with _lock:
        if observer in _observers:
            _observers.remove(observer)


class _Together:
    """The observations of several observers as one: the first served answer wins."""

    def __init__(self, parts: list[Observation]):
        self.parts = parts
        self.served = next((p.served for p in parts if p.served is not None), None)

    def finished(self, result: ChatResult) -> None:
        for part in self.parts:
            part.finished(result)


@contextmanager
def observed(call: ModelCall) -> Iterator[Observation | None]:
    """Every interested observer around `call`; None when none is (the call runs unseen)."""
    watching = [cm for observer in tuple(_observers) if (cm := observer(call)) is not None]
    if not watching:
        yield None
        return
    with ExitStack() as stack:
        parts = [stack.enter_context(cm) for cm in watching]
        yield parts[0] if len(parts) == 1 else _Together(parts)
