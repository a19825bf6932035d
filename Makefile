# Newsroom: `make run` to serve the site, `make test` to run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
# Every Python package the project needs (dependencies, the dev extra, the build backend), pinned
# with its hashes: what CI tested is what a fresh clone installs. `make lock` regenerates it.
LOCK := requirements.lock
PIP_TOOLS := pip-tools==7.6.2

.PHONY: install lock run serve test lint check clean

# The site's own styles and scripts, collected again whenever one changes (the site serves the
# collected copies).
STATIC_SOURCES := $(shell find static/css static/js -type f 2>/dev/null)
COLLECTED := staticfiles/.collected

install: $(STAMP) $(COLLECTED)

$(COLLECTED): $(STAMP) $(STATIC_SOURCES)
	$(PY) manage.py collectstatic --noinput --verbosity 0
	touch $(COLLECTED)

# The lock is the whole set: --no-deps, so nothing outside it is resolved, and `pip check` fails
# if pyproject.toml asks for something the lock lacks (run `make lock`). The project itself is
# installed editable, its dependencies already there, built by the locked setuptools.
$(STAMP): pyproject.toml $(LOCK) package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/pip check || { echo 'pyproject.toml asks for more than $(LOCK) holds: run make lock' >&2; exit 1; }
	npm ci --no-audit --no-fund
	$(PY) manage.py vendor_frontend
	$(PY) manage.py collectstatic --noinput --verbosity 0
	touch $(STAMP)

# Regenerate $(LOCK) from pyproject.toml after changing a dependency. Pins already in the lock are
# kept where pyproject still allows them; `make lock UPGRADE=1` moves every package to its newest
# allowed release. The lock names no index or local path: it installs from PyPI anywhere.
lock:
	test -x $(PY) || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet --upgrade pip; }
	$(BIN)/pip install --quiet '$(PIP_TOOLS)'
	CUSTOM_COMPILE_COMMAND='make lock' $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe \
		--strip-extras --extra dev --build-deps-for editable \
		--no-emit-index-url --no-emit-trusted-host --no-emit-find-links \
		$(if $(UPGRADE),--upgrade) --output-file $(LOCK) pyproject.toml

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_seed
	$(PY) manage.py dev_admin
	@echo "Serving http://127.0.0.1:8000 with the task worker beside it; Ctrl-C stops both."
	$(PY) manage.py worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(PY) manage.py runserver 127.0.0.1:8000

# Production mode: settings from the environment (DEBUG=0, SECRET_KEY, DATABASE_URL, REDIS_URL, ...).
serve: install
	DEBUG=$${DEBUG:-0} $(PY) manage.py collectstatic --noinput
	DEBUG=$${DEBUG:-0} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-0} $(BIN)/gunicorn newsroom.wsgi:application -c newsroom/gunicorn.conf.py

test: install
	NEWSROOM_CACHE=locmem $(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Models without a migration, and the deployment checklist in production mode (DEBUG=0) with a
# throwaway key, failing on any warning.
check: install
	$(PY) manage.py makemigrations --check --dry-run
	DEBUG=0 ALLOWED_HOSTS=example.org \
		SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		$(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache .cache
