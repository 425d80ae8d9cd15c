# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo bench screenshot lint typecheck clean

# Recipes that run before the demo are silent (@): the demo's URL must be the first line `make demo` prints.
$(STAMP): pyproject.toml
	@echo "make: installing ssmux into $(VENV) (first run only)" >&2
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The venv's bin goes first on PATH: the tests run the installed `ssmux` and `aws` as a user would.
test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

demo: $(STAMP)
	@$(BIN)/ssmux demo

# Re-take docs/screenshot.png (the README's picture) from the browser end-to-end test.
screenshot: $(STAMP)
	SSMUX_UPDATE_SCREENSHOT=1 PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest tests/gui/test_browser_e2e.py

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy src/ssmux

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
