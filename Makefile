# evalkit: `make help` lists the targets. Quick start: `make eval task=docvqa`, then `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
task   ?= docvqa
ARGS   ?=
# `make eval` installs evalkit's core alone (the baseline, API and replay backends), and the hf
# extra when the run names backend=hf; `make test` and the other developer targets install the dev
# extras (the local-model tests run on a tiny CPU model). The constraints keep torch on its CPU
# build. A GPU machine: make setup CONSTRAINTS= (your torch).
EXTRAS      ?= dev,hf
CONSTRAINTS ?= constraints-cpu.txt
# Every other NAME=VALUE on make's command line is handed to evalkit as a Hydra override, quoted:
# `make eval task=docvqa backend=openai backend.model=M` (ARGS="..." works too).
_quote     = '$(subst ','\'',$(1))'
OVERRIDES  = $(strip $(foreach v,$(sort $(.VARIABLES)),$(if $(filter command line,$(origin $(v))),$(if \
             $(filter-out task ARGS PYTHON VENV EXTRAS CONSTRAINTS JOBS,$(v)),$(call _quote,$(v)=$(value $(v)))))))

.DEFAULT_GOAL := help
.PHONY: help setup eval test test-all lint typecheck check docs bench samples clean

help: ## Show this help (coloured on a terminal only)
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=''; off=''; fi; \
	awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %s%-10s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "evalkit needs Python >= 3.11 (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)

# One stamp per install: the core (make eval), the core with the hf extra (make eval backend=hf),
# the developer extras (make setup, make test); each is redone when pyproject.toml changes.
$(VENV)/.installed-core: pyproject.toml | $(PY)
	@if [ $(VENV)/.installed -nt pyproject.toml ]; then :; else $(PY) -m pip install --quiet --no-compile -e .; fi
	@touch $@
$(VENV)/.installed-hf: pyproject.toml constraints-cpu.txt | $(PY)
	$(PY) -m pip install --quiet --no-compile -e '.[hf]' $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	@touch $@
$(VENV)/.installed: pyproject.toml constraints-cpu.txt | $(PY)
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]' $(if $(CONSTRAINTS),-c $(CONSTRAINTS))
	@touch $@

setup: $(VENV)/.installed ## Create .venv and install evalkit with the dev extras (idempotent)

# backend=hf on make's command line (or in ARGS) brings the hf extra; anything else, the core alone
_eval_stamp = $(VENV)/.installed-$(if $(filter hf,$(backend))$(findstring backend=hf,$(ARGS)),hf,core)

eval: $(_eval_stamp) ## Run one evaluation: make eval task=docvqa backend=openai dataset.limit=100
	$(PY) -m evalkit task=$(task) $(OVERRIDES) $(ARGS)

# Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: pytest's rewritten test modules
# and evalkit's own, compiled once instead of in every test process and every `evalkit` it starts.
# pytest-xdist processes: one per core (auto)
JOBS ?= auto

test: setup ## Run the test suite (pytest-xdist, a process per core), the slow tests aside
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(JOBS) --dist worksteal -m "not slow"

test-all: setup ## Run every test, the slow ones too (Ray, whole-process faults): what CI runs
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n $(JOBS) --dist worksteal

lint: setup ## ruff lint + format check
	$(PY) -m ruff check evalkit tests bench scripts
	$(PY) -m ruff format --check evalkit tests bench scripts

typecheck: setup ## mypy (strict on evalkit)
	$(PY) -m mypy

check: lint typecheck test ## lint + typecheck + test

docs: setup ## Build the docs site into site/ (MkDocs, strict: a broken link or anchor fails)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet

bench: setup ## Benchmarks (printed as tables of ratios)
	$(PY) -m bench

samples: setup ## Re-render the bundled offline samples (needs fonts-wqy-microhei)
	$(PY) scripts/make_samples.py
	$(PY) scripts/make_benchmark_samples.py
	$(PY) scripts/make_today_samples.py

clean: ## Remove the venv, caches and results (keeps results/.gitkeep)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist site *.egg-info
	find results -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
