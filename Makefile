# Two commands on a fresh machine with Python 3.11+: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
SYSTEM_PACKAGES := chromium poppler-utils postgresql
EXAMPLE := assessments/example

.PHONY: demo test lint format system-packages clean bench lab bytecode screenshots

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "xmkit needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

## setuptools' notice about editable installs (a flat layout's folder named like the package) is
## informational only; PYTHONWARNINGS keeps it out of a newcomer's first install.
PIP_INSTALL := PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet

$(STAMP): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev]'
	touch $@ $(STAMP)

## Byte-compile the (editable) package: every batch worker and kernel imports it, and without
## .pyc files each would compile it again (PYTHONDONTWRITEBYTECODE=1 stops Python writing them).
bytecode: $(STAMP)
	$(BIN)/python -m compileall -q xmkit

## Debian's chromium and poppler-utils (pdftotext) are needed for PDF reports and browser tests,
## postgresql (initdb, pg_ctl) for the tests of a benchmark store on PostgreSQL.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "xmkit needs the system packages:$$missing (Debian/Ubuntu: sudo apt-get install$$missing)"; \
	    exit 1; \
	  fi; \
	fi

demo: $(STAMP) bytecode system-packages
	$(BIN)/xmkit validate $(EXAMPLE)
	$(BIN)/xmkit score $(EXAMPLE) --by unit
	$(BIN)/xmkit score $(EXAMPLE) -o reports/example-scores.csv
	$(BIN)/xmkit report $(EXAMPLE) -o reports
	@echo "The example report is in reports/northwind-retail-group/all-units/ (report.html, report.pdf)."

## The self-assessment form (templates/self_assessment.ipynb) in JupyterLab; Ctrl-C stops it.
## The server's root is the checkout, so the form's assessments/ and report links work.
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=. templates/self_assessment.ipynb $$([ "$$(id -u)" = 0 ] && echo --allow-root)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Two pytest workers, each taking whole test files (module-scoped renders stay shared): a
## test mostly waits on its kernel or browser, so two workers keep two cores busy.
TEST_WORKERS ?= 2
test: $(DEV_STAMP) bytecode system-packages lint
	@echo "running the test suite: about 9 minutes on 2 cores (real notebooks, kernels and Chromium)"
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

bench: $(STAMP) bytecode
	$(BIN)/python bench/bench_scoring.py
	$(BIN)/python bench/bench_benchmark.py
	$(BIN)/python bench/bench_resume.py

## The README's report screenshots (docs/images/*.png), rendered again from the example.
screenshots: $(STAMP) system-packages
	$(BIN)/python docs/screenshots.py

## Everything make demo, make test and the Quick start write; reports/.gitkeep stays.
clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
	find reports -mindepth 1 -maxdepth 1 ! -name .gitkeep -exec rm -rf {} +
