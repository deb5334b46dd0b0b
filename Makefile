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

.PHONY: help setup book test test-browser unit execute chapter-times serve clean bench student

help:
	@echo "make book     build the HTML book into _build/html (executes every chapter)"
	@echo "make test     unit tests, doctests, lint and nbval --nbval on every notebook"
	@echo "              (and the site tests, when _build/html and Chromium are there)"
	@echo "make test-browser  test the built book in Chromium, offline (after make book)"
	@echo "make serve    serve _build/html on http://127.0.0.1:$(PORT)"
	@echo "make execute  re-execute book/*.ipynb in place (after changing a chapter)"
	@echo "make student  build the student edition (no solutions) into _build/student"
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

student: setup
	$(BIN)/jupyter-book config sphinx . >/dev/null
	@# The generated conf.py does not put the local extension's folder on the path.
	PYTHONPATH=scripts $(BIN)/sphinx-build -b html -W -n --keep-going -E \
	  -D hide_solutions=1 -D html_copy_source=0 . _build/student; \
	  status=$$?; rm -f conf.py; exit $$status
	@echo "Student edition: file://$(CURDIR)/_build/student/index.html"

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# The built site in a real browser with no network (tests/site): Debian's Chromium driven by
# Playwright. Tests _build/html as it is; `make book` builds it. Nothing is skipped here.
test-browser: setup
	@test -f _build/html/index.html || \
	  { echo "make test-browser: no book in _build/html; run 'make book' first" >&2; exit 1; }
	GRADCOURSE_SITE_TESTS=required $(BIN)/python -m pytest tests/site \
	  -o addopts="-p no:cacheprovider" --durations=5
	@echo "Screenshots and axe results: $(CURDIR)/_build/site-report/"

unit: setup
	$(BIN)/python -m pytest tests gradcourse

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

clean:
	rm -rf _build .pytest_cache .ruff_cache conf.py
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
