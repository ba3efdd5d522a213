# Two entry points for a fresh machine: `make demo` and `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export LITELLM_LOCAL_MODEL_COST_MAP := True
export MLFLOW_MODEL_CATALOG_URI :=

.PHONY: demo test test-fast check bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@echo "== examples/shop: a rule-based agent (no LLM)"
	cd examples/shop && ../../$(BIN)/costar run --trials 2 && ../../$(BIN)/costar assess --last
	@echo "== examples/support: an LLM agent (scripted fake LLM unless COSTAR_MODEL is set)"
	$(BIN)/python examples/support/demo.py --trials 2

# everything, as CI runs it (the real-model tests stay opt-in: pytest -m real_llm), in JOBS
# worker processes; the tests of one shared server or one module fixture stay in one worker
# (tests/conftest.py). JOBS=0 runs them in this process, one after the other.
JOBS    ?= 3
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup

# the unmarked tests: no real subprocess, signal or server (marked slow) and no whole
# optimizer or agent loop (marked loop)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) --dist loadgroup -m "not slow and not loop and not real_llm"

check: $(STAMP)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/startup.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/harness.py
	$(BIN)/python bench/rescore.py
	$(BIN)/python bench/judge_context.py
	$(BIN)/python bench/monitor.py

clean:
	rm -rf $(VENV) .pytest_cache examples/shop/.costar examples/support/.costar
