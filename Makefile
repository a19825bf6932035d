# Newsroom: `make run` to serve the site, `make test` to run the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install run serve test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_seed
	$(PY) manage.py dev_admin
	$(PY) manage.py runserver 127.0.0.1:8000

# Production mode: settings from the environment (DEBUG=0, SECRET_KEY, DATABASE_URL, REDIS_URL, ...).
serve: install
	DEBUG=$${DEBUG:-0} $(PY) manage.py collectstatic --noinput
	DEBUG=$${DEBUG:-0} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-0} $(BIN)/gunicorn newsroom.wsgi:application -c newsroom/gunicorn.conf.py

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache
