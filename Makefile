# gradcourse: two commands, `make book` and `make test`, each sets up what it needs.
SHELL   := /bin/bash
PYTHON  ?= $(shell command -v python3.11 || command -v python3)
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PORT    ?= 8000

# Reproducible numbers: CPU only, no JAX backend hints on stderr.
export JAX_PLATFORMS ?= cpu
export OPENBLAS_NUM_THREADS ?= 1
export PYTHONHASHSEED := 0
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help setup book test test-portable test-strict test-browser unit execute chapter-times serve clean \
	bench student grade

# The portability check: JAX compiled with full optimisation instead of the chapters'
# compile-fast flags, and OpenBLAS forced to its SSE4.2 (Nehalem) kernels. Both change float32
# round-off the way another CPU does; the chapters read XLA_FLAGS with setdefault, so this wins.
PORTABLE_ENV := XLA_FLAGS=--xla_backend_optimization_level=3 OPENBLAS_CORETYPE=Nehalem

help:
	@echo "make book     build the HTML book into _build/html (executes every chapter)"
	@echo "make test     unit tests, doctests, lint and nbval on every notebook (numbers"
	@echo "              within the tolerance of tests/nbval_tolerant.py; and the site tests,"
	@echo "              when _build/html and Chromium are there)"
	@echo "make test-portable  nbval on every notebook with JAX and OpenBLAS computing"
	@echo "              differently (as on another CPU): outputs must hold within the tolerance"
	@echo "make test-strict    make test with exact nbval (on the machine that commits outputs)"
	@echo "make unit     tests/ and the doctests, without nbval on the chapters"
	@echo "make test-browser  test the built book in Chromium, offline (after make book)"
	@echo "make serve    serve _build/html on http://127.0.0.1:$(PORT)"
	@echo "make execute  re-execute book/*.ipynb in place (after changing a chapter)"
	@echo "make student  student notebooks and site without solutions, in _build/student"
	@echo "make grade SUBMISSIONS=dir  grade <student>/<chapter>.ipynb into _build/grades"
	@echo "make bench    run the benchmarks in benchmarks/ (needs torch, installed on demand)"
	@echo "make chapter-times  time every chapter's execution (nothing saved)"
	@echo "make clean    remove _build and caches (keeps .venv)"

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[book,test]"
	@# Build matplotlib's font cache now, so no notebook prints the one-off notice to stderr.
	$(BIN)/python -c "import matplotlib.pyplot"
	touch $@

book: setup
	rm -rf _build/html _build/jupyter_execute _build/.jupyter_cache _build/.doctrees
	$(BIN)/jupyter-book build . --all -W -n --keep-going
	@echo "Open file://$(CURDIR)/_build/html/index.html (or run: make serve)"

# The student edition: notebooks without solutions (scripts/student_edition.py), then a
# separate Sphinx build of a book tree made only of them, so that its _sources, download
# buttons, search index and launch buttons hold only student notebooks.
STUDENT := _build/student
student: setup
	$(BIN)/python scripts/student_edition.py --out $(STUDENT)
	$(BIN)/jupyter-book config sphinx $(STUDENT)/src >/dev/null
	PYTHONPATH=$(STUDENT)/src/scripts $(BIN)/sphinx-build -b html -W -n --keep-going -E \
	  -d _build/.student-doctrees $(STUDENT)/src $(STUDENT)/html
	@echo "Student notebooks: $(STUDENT)/notebooks; site: file://$(CURDIR)/$(STUDENT)/html/index.html"

# Grade a folder of <student>/<chapter>.ipynb with the hidden checks in grading/.
SUBMISSIONS ?=
CELL_TIMEOUT ?= 60
HARD_LIMIT ?= 600
grade: setup
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade SUBMISSIONS=<folder>"; exit 2; }
	$(BIN)/python scripts/grade.py "$(SUBMISSIONS)" --out _build/grades \
	  --cell-timeout $(CELL_TIMEOUT) --hard-limit $(HARD_LIMIT)

test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

test-portable: setup
	$(PORTABLE_ENV) $(BIN)/python -m pytest book

test-strict: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest --nbval-strict

# The built site in a real browser with no network (tests/site): Debian's Chromium driven by
# Playwright. Tests _build/html as it is; `make book` builds it. Nothing is skipped here.
test-browser: setup
	@test -f _build/html/index.html || \
	  { echo "make test-browser: no book in _build/html; run 'make book' first" >&2; exit 1; }
	GRADCOURSE_SITE_TESTS=required $(BIN)/python -m pytest tests/site \
	  -o addopts="-p no:cacheprovider" --durations=5
	@echo "Screenshots and axe results: $(CURDIR)/_build/site-report/"

# The fast loop while changing the package: tests/ and the doctests, no chapter re-executed.
unit: setup
	$(BIN)/python -m pytest tests gradcourse --ignore=tests/site

execute: setup
	$(BIN)/python scripts/execute_notebooks.py book/*.ipynb

chapter-times: setup
	$(BIN)/python scripts/execute_notebooks.py --dry-run book/*.ipynb

serve:
	@test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

bench: setup
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[bench]"
	$(BIN)/python benchmarks/bench_probe.py
	$(BIN)/python benchmarks/bench_chapters.py
	$(BIN)/python benchmarks/bench_sampler.py

clean:
	rm -rf _build .pytest_cache .ruff_cache conf.py
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
