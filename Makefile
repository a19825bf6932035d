# Newsroom: `make run` to serve the site, `make test` to run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-postgres lint clean

install: $(STAMP)

$(STAMP): pyproject.toml package.json package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	npm ci --no-audit --no-fund
	$(PY) manage.py vendor_frontend
	$(PY) manage.py collectstatic --noinput --verbosity 0
	touch $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_seed
	$(PY) manage.py dev_admin
	$(PY) manage.py runserver 127.0.0.1:8000

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache
