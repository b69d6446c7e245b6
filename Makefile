# Everything a fresh machine needs: `make demo` runs the main job, `make test` the tests.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
SRC := src tests bench examples

.PHONY: demo test check lint types bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,memory,server,server-test,local,envs]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/llmagentos demo

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check $(SRC)
	$(BIN)/ruff format --check $(SRC)

types: $(STAMP)
	$(BIN)/mypy

check: lint types

bench: $(STAMP)
	$(BIN)/python bench/syscall_overhead.py --json bench/results/syscall_overhead.json
	$(BIN)/python bench/maze.py --json bench/results/maze.json

clean:
	rm -rf $(VENV) .llmagentos .pytest_cache .mypy_cache .ruff_cache
