# Two commands do all setup: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	MPLBACKEND=Agg $(BIN)/deepglass demo --out demo_out

test: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n auto -m "not slow" tests

test-slow: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -m slow tests

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_mc.py
	$(BIN)/python benchmarks/bench_theory.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
