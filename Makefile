# trustbot: every target sets up .venv first (fast when it is already up to date).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# A Python >= 3.12: the newest python3.1x (or python3) on PATH that is >= 3.12, else the newest
# under `pyenv root`.
PYTHON ?= $(shell for p in python3.19 python3.18 python3.17 python3.16 python3.15 python3.14 python3.13 python3.12 python3; do \
	  if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then command -v $$p; exit; fi; done; \
	  root=$$(pyenv root 2>/dev/null); \
	  for p in $$(ls -d $$root/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	    if $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then echo $$p; exit; fi; done)

.PHONY: setup lock lock-upgrade demo test test-all run lint clean teams-package

setup: $(STAMP)

# Dependencies come from the lock (exact versions, hashes checked: two installs are the same);
# then trustbot itself, editable, without resolving anything. `make lock` refreshes the lock.
DEV_LOCK := requirements-dev.lock
RUNTIME_LOCK := requirements.lock

$(STAMP): pyproject.toml $(DEV_LOCK)
	@if [ -z "$(PYTHON)" ]; then echo "trustbot needs Python >= 3.12: install python3.12 or newer (or set PYTHON=...)" >&2; exit 1; fi
	@if [ ! -x $(PY) ]; then echo "creating $(VENV) with $(PYTHON)"; $(PYTHON) -m venv $(VENV); fi
	@# uv installs what pip would, in a fraction of the time (docs/decisions.md); pip is the
	@# fallback where uv cannot be had. Byte-compiled as pip does: tests start many processes.
	@if $(PY) -m pip install --quiet uv; then \
	  echo "$(VENV)/bin/uv pip install --require-hashes -r $(DEV_LOCK) && $(VENV)/bin/uv pip install --no-deps -e ."; \
	  $(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode --require-hashes -r $(DEV_LOCK) \
	    && $(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode --no-deps -e .; \
	else \
	  echo "uv is not to be had: installing with pip"; \
	  $(PY) -m pip install --quiet --require-hashes -r $(DEV_LOCK) && $(PY) -m pip install --quiet --no-deps -e .; \
	fi
	@# A requirement added to pyproject.toml but not to the lock shows here, not as an ImportError.
	@if ! $(PY) -m pip check >/dev/null; then \
	  $(PY) -m pip check >&2; echo "$(DEV_LOCK) does not satisfy pyproject.toml: run \`make lock\`" >&2; exit 1; \
	fi
	@touch $(STAMP)

# Refresh both locks from pyproject.toml, keeping every pin that still fits (add a dependency,
# tighten a bound); `make lock-upgrade` moves every pin to the newest release allowed.
# Universal: one lock for every platform and Python >= 3.12 (markers inside).
LOCK_FLAGS := --universal --python-version 3.12 --generate-hashes --quiet --custom-compile-command "make lock"

lock:
	@if [ ! -x $(VENV)/bin/uv ]; then $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet uv; fi
	$(VENV)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) $(LOCK_UPGRADE) -o $(RUNTIME_LOCK)
	@# The development lock keeps the image's pins: the tests run what the image ships.
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --constraint $(RUNTIME_LOCK) $(LOCK_FLAGS) $(LOCK_UPGRADE) -o $(DEV_LOCK)

lock-upgrade:
	$(MAKE) lock LOCK_UPGRADE=--upgrade

demo: $(STAMP)
	$(VENV)/bin/trustbot demo

# pytest's workers (pytest-xdist, each with its own databases); PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

# The tests start many Python processes (workers, `python -m trustbot`): they write bytecode
# caches (__pycache__, ignored by git) even where PYTHONDONTWRITEBYTECODE is set, so that only
# the first compiles trustbot and the tests' rewritten asserts (docs/testing.md).
PYTEST := PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest

# Lint, types, and every test but those slow by nature (docs/testing.md).
test: lint
	$(PYTEST) -m "not slow" -n $(PYTEST_WORKERS)

# `make test`, then the slow tests: process kills, storms, multi-process serve.
test-all: test
	$(PYTEST) -m slow -n $(PYTEST_WORKERS)

# mypy's cache is shared by every clone of trustbot on the machine (it checks each module's hash,
# so a clone never gets another's verdict): a fresh clone type-checks in ~1 s instead of ~20 s.
MYPY_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/trustbot/mypy

lint: $(STAMP)
	$(VENV)/bin/ruff check trustbot tests bench migrations
	$(VENV)/bin/ruff format --check trustbot tests bench migrations
	$(VENV)/bin/mypy --cache-dir "$(MYPY_CACHE)"

# The Teams app to upload: needs TEAMS_CLIENT_ID and TEAMS_APP_* (environment or .env).
teams-package: $(STAMP)
	$(VENV)/bin/trustbot teams-package --from deploy/teams --out dist/trustbot-teams.zip

run: $(STAMP)
	$(VENV)/bin/trustbot serve

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache dist
