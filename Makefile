# One-command set-up, run and test. Works on a fresh clone: creates .venv and installs into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= results
RUN_ARGS ?=

.PHONY: setup run test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,local,server,anthropic]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/annalign run --out $(OUT) $(RUN_ARGS)

test: setup
	bash scripts/setup-browser.sh
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

bench: setup
	$(PY) benchmarks/bench_rq1.py
	$(PY) benchmarks/bench_groups.py
	$(PY) benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
