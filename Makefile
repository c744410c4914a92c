# Entry points for a fresh machine (see README.md):
#   make book        recompute every result and build the book (real models by default);
#                    EDITION=student also builds a copy without the exercises' solutions
#                    and writes the chapters' notebooks without them
#   make reproduce   recompute every result on the command line -> $(OUT)/
#   make test        run the test suite
# Each creates its own virtual environment in $(VENV) and installs torch first.

PYTHON ?= python3
VENV ?= .venv
# torch is installed on its own first, so that the project's range is already met;
# override for another build, e.g. make test TORCH="torch --index-url ..."
TORCH ?= torch==2.13.0
MODELS ?= real
OUT ?= results
SEED ?= 0
EDITION ?=
PYTEST_ARGS ?=
# `cvsp preflight` runs before book, reproduce and rehearse: it says what the run will
# download, store and take, and stops it (exit 1) when the disk is short;
# PREFLIGHT=--force goes on anyway
PREFLIGHT ?=
# pytest-xdist workers of make test (0: none, one process); tests that share a reference
# run stay on one worker (tests/conftest.py schedules them)
TEST_WORKERS ?= 2

BIN := $(VENV)/bin

.PHONY: book reproduce lint test clean-venv clean-cache mutants release rehearse

# Debian and Ubuntu ship venv's ensurepip in a package of its own: without it `python3 -m
# venv` fails half-way with a traceback. Said first, in one sentence, before anything is made.
$(BIN)/python:
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
		echo "make: $(PYTHON) cannot create a virtual environment (its venv/ensurepip module is missing); on Debian or Ubuntu install it with: sudo apt-get install python3-venv" >&2; \
		exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[compute]"
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[compute,dev]"
	touch $@ $(VENV)/.runtime

# Executed notebooks are cached by their code alone; the book's extension (book/_ext)
# starts afresh when the models' resolved commits or the package change (cvsp.stamp).
book: $(VENV)/.dev
	CVSP_MODELS=$(MODELS) $(BIN)/cvsp preflight book $(PREFLIGHT)
	CVSP_MODELS=$(MODELS) $(BIN)/jupyter-book build . -W -n --keep-going
	@echo "The book is in _build/html/index.html"
	@if [ "$(EDITION)" = student ]; then \
		$(BIN)/python tools/edition.py student --cache _build/.jupyter_cache \
			--notebooks _build/student/notebooks > _build/_config.student.yml && \
		CVSP_MODELS=$(MODELS) $(BIN)/jupyter-book build . --config _build/_config.student.yml \
			--path-output _build/student -W -n --keep-going && \
		echo "The student edition (no solutions) is in _build/student/_build/html/index.html," && \
		echo "its notebooks (no solutions) to hand out in _build/student/notebooks/"; \
	elif [ -n "$(EDITION)" ]; then echo "EDITION must be student or unset, not $(EDITION)"; exit 2; fi

reproduce: $(VENV)/.runtime
	$(BIN)/cvsp preflight reproduce --models $(MODELS) $(PREFLIGHT)
	$(BIN)/cvsp reproduce --models $(MODELS) --out $(OUT) --seed $(SEED)

# ruff's rules and format are in pyproject.toml ([tool.ruff]); `ruff format .` applies the format
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# pytest exits with 5 when it collected no test: that is a broken suite, not a pass.
test: lint
	@$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS); code=$$?; \
	if [ $$code -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$code

clean-venv:
	rm -rf $(VENV)

# the cvsp cache (CVSP_CACHE_DIR): embeddings, stand-ins, intervals; says how much it held
clean-cache: $(VENV)/.runtime
	$(BIN)/cvsp cache --clear

# Mutation testing: small changes to the code that the fast tests should notice
# (tools/mutants.py; e.g. make mutants MUTANTS_ARGS="--modules src/cvsp/metrics.py --max-mutants 15").
MUTANTS_ARGS ?=
mutants: $(VENV)/.dev
	$(BIN)/python tools/mutants.py $(MUTANTS_ARGS)

# A release: tags HEAD as v<version>, the tag every notebook's install cell names
# (tools/release.py checks first; push the tag it prints).
release: $(VENV)/.dev
	$(BIN)/python tools/release.py

# The Pages workflow's steps, offline, against a full-size replica of the hub: wall time,
# downloads and peak disk -> benchmarks/rehearsal.json (benchmarks/rehearse.py; about 45 min).
rehearse: $(VENV)/.dev
	$(BIN)/cvsp preflight book --models real $(PREFLIGHT)
	$(BIN)/python benchmarks/rehearse.py
