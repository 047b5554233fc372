# One-command set-up, run and test. Works on a fresh clone: creates .venv and installs into it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= results
RUN_ARGS ?=

.PHONY: setup run test lint bench clean

# llama-cpp-python is built portably (no -march=native, no AMX) by scripts/install-llama.sh, before
# pip sees the [local] extra, so pip never compiles a native build. If that build fails, the rest is
# still installed and only the offline model (and the tests that need it) fails, saying why.
$(VENV)/.installed: pyproject.toml scripts/install-llama.sh scripts/llama-portable.cmake
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	if bash scripts/install-llama.sh $(PY); then \
	    $(PY) -m pip install --quiet -e '.[dev,local,server,anthropic]'; \
	else \
	    echo "warning: llama-cpp-python could not be built; the offline model and its tests will fail" >&2; \
	    $(PY) -m pip install --quiet -e '.[dev,anthropic]'; \
	fi
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/annalign run --out $(OUT) $(RUN_ARGS)

# A browser that cannot be installed fails only the browser tests (they say so), not the whole run.
test: setup
	bash scripts/setup-browser.sh || echo "warning: Chromium could not be installed; the browser tests will fail" >&2
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

bench: setup
	$(PY) benchmarks/bench_rq1.py
	$(PY) benchmarks/bench_groups.py
	$(PY) benchmarks/bench_engine.py
	$(PY) benchmarks/bench_alttest.py
	$(PY) benchmarks/bench_tasks.py
	$(PY) benchmarks/bench_offline.py

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache
