# Two commands do all setup: `make demo` and `make test`. `make docs` builds the documentation site into site/.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow bench docs clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
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

# The documentation site, offline: execute the notebooks into docs/notebooks/ (NOTEBOOK_FLAGS=--small for the
# quick sizes), check the API reference is complete (docs/check_api.py), build with --strict (any warning, broken
# link or unresolved API entry fails), then check the site loads nothing from the network (docs/check_site.py).
# No MPLBACKEND for the notebooks: their kernels draw inline figures.
NOTEBOOK_FLAGS ?=
docs: $(STAMP)
	@rm -rf docs/notebooks
	$(BIN)/python examples/notebooks/execute.py docs/notebooks $(NOTEBOOK_FLAGS)
	$(BIN)/python docs/check_api.py
	NO_MKDOCS_2_WARNING=1 $(BIN)/python -m mkdocs build --strict --quiet
	$(BIN)/python docs/check_site.py site

clean:
	rm -rf $(VENV) demo_out .pytest_cache site docs/notebooks .cache
