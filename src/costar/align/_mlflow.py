"""The bridge to MLflow's judge alignment: a costar LLM judge as an MLflow `make_judge` judge,
MLflow's optimizers by costar's names for them, and the optimizer's result back as costar judge
parameters. Also what costar keeps around the optimizers: the provider settings they need
(base URL, key) from costar's own model configuration, DSPy's answer cache switched off (it is
keyed without the base URL), MLflow tracing off for the optimizers' own calls, and quiet logs.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

from costar._exceptions import AlignError
from costar.judges import Judge, criteria_text
from costar.llm import resolve_endpoint

# the alignment optimizers `costar align --optimizer` accepts (MLflow's)
OPTIMIZERS = ("memalign", "gepa", "simba")
_TEMPLATE = "\n\nThe user's request: {{ inputs }}\nThe agent's response: {{ outputs }}"


def judge_model(judge: Judge) -> str:
    model = (
        judge.params.get("model")
        or os.environ.get("COSTAR_JUDGE_MODEL")
        or os.environ.get("COSTAR_MODEL")
    )
    if not model:
        raise AlignError(
            f"judge {judge.name!r} has no model: set params.model, COSTAR_JUDGE_MODEL or "
            "COSTAR_MODEL (for example openai:/gpt-4.1-mini)"
        )
    return model


def base_criteria(judge: Judge) -> str:
    p = judge.params
    text = criteria_text(p.get("instructions"), p.get("guidelines"), p.get("learned"))
    if p.get("guidelines") is None and not p.get("instructions"):
        lead = "Judge whether the agent followed the guidelines of its scenario."
        text = lead + ("\n\n" + text if text else "")
    return text


def to_mlflow_judge(judge: Judge, model: str) -> Any:
    """The costar LLM judge as an MLflow `make_judge` judge with the same criteria."""
    from mlflow.genai.judges import make_judge

    return make_judge(
        name=judge.name,
        instructions=base_criteria(judge) + _TEMPLATE,
        model=model,
        feedback_value_type=bool,
    )


@contextlib.contextmanager
def provider_env(*models: str) -> Iterator[None]:
    """Point MLflow's model adapters (litellm, the openai SDK) at the endpoints costar would
    use for these models, restoring the environment afterwards."""
    saved = dict(os.environ)
    try:
        for model in models:
            ep = resolve_endpoint(model)
            if ep.provider == "openai":
                os.environ["OPENAI_BASE_URL"] = os.environ["OPENAI_API_BASE"] = ep.base_url
                os.environ["OPENAI_API_KEY"] = ep.api_key or "unused"
            elif ep.provider == "ollama":
                os.environ["OLLAMA_API_BASE"] = ep.base_url.removesuffix("/v1")
        os.environ.setdefault("TQDM_DISABLE", "1")  # the optimizers' progress bars
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def quiet_optimizers() -> None:
    """DSPy and litellm log every optimization step at INFO; costar reports the outcome."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith(("dspy", "LiteLLM", "litellm", "gepa", "httpx", "mlflow.genai")):
            logging.getLogger(name).setLevel(logging.WARNING)


def make_optimizer(name: str, model: str, budget: int | None, embedding_model: str | None) -> Any:
    """MLflow's alignment optimizer by costar's name for it."""
    from mlflow.genai.judges import optimizers

    if name == "memalign":
        kwargs: dict[str, Any] = {"embedding_model": embedding_model} if embedding_model else {}
        return optimizers.MemAlignOptimizer(reflection_lm=model, **kwargs)
    if name == "gepa":
        return optimizers.GEPAAlignmentOptimizer(model=model, max_metric_calls=budget)
    if name == "simba":
        extra = {"max_steps": budget} if budget else {}
        return optimizers.SIMBAAlignmentOptimizer(model=model, simba_kwargs=extra or None)
    raise AlignError(f"unknown optimizer {name!r} (use one of {', '.join(OPTIMIZERS)})")


_INPUT_SECTION = re.compile(r"\n*(Inputs for assessment|The user's request:).*", re.S)


def aligned_params(judge: Judge, aligned: Any, optimizer: str) -> tuple[dict[str, Any], str]:
    """The costar judge's parameters after alignment, and a one-line account of the change."""
    params = dict(judge.params)
    if optimizer == "memalign":
        found = [g.guideline_text for g in getattr(aligned, "_semantic_memory", [])]
        learned = list(params.get("learned") or [])
        new = [g for g in found if g not in learned]
        params["learned"] = learned + new
        return params, f"{len(new)} guideline(s) learned: " + "; ".join(new)[:300]
    text = _INPUT_SECTION.sub("", aligned.instructions).replace("{{ inputs }}", "the request")
    text = text.replace("{{ outputs }}", "the response").strip()
    params["instructions"] = text
    params.pop("learned", None)
    if judge.uses == "guidelines" and params.get("guidelines") is not None:
        params["guidelines"] = []  # the fixed guidelines are part of the rewritten text now
    return params, f"instructions rewritten ({len(text)} chars)"


@contextlib.contextmanager
def dspy_uncached() -> Iterator[None]:
    """DSPy caches model answers on disk, keyed without the base URL: an answer recorded
    against one server (or script) would be replayed for another. Alignment always asks."""
    try:
        import dspy
    except ImportError as exc:
        raise AlignError(
            "costar align needs MLflow's optimizer dependencies (dspy, gepa): "
            "pip install 'costar[align]'"
        ) from exc
    saved = dspy.cache
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)
    try:
        yield
    finally:
        dspy.cache = saved


@contextlib.contextmanager
def tracking_at(uri: str) -> Iterator[None]:
    """MLflow's process-wide tracking URI, for the optimizers' own MLflow calls: without it
    they fall back on MLflow's default, a `mlflow.db` in the working directory (which is how
    one got committed at the repository root)."""
    import mlflow

    saved = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(saved)
