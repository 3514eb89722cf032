# Two commands do all the set-up on a fresh machine (README): `make run` and `make test`.
# Both create .venv and install meterkast with its test tools on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test run bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,parquet]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest

run: $(STAMP)
	$(BIN)/meterkast run $(ARGS)

# QUICK=1: every benchmark on a smaller input, under a minute in all (benchmarks/__main__.py).
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(if $(QUICK),--quick)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
