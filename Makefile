# Two commands: `make run` (everything, embedded defaults) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test install lint migrate bench bench-smoke clean client-checks

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

# Translation catalogs: locale/*/LC_MESSAGES/django.po are committed; the .mo files are built here with
# Babel's pybabel (no GNU gettext needed), so merges never touch binary files.
install: $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile -d locale -D django

# Embedded default: PostgreSQL from a wheel under var/pg, a filesystem Celery broker, a real worker
# + beat. One supervisor (nuvlyx/run.py) migrates, sets up the demo and stops everything on Ctrl-C.
run: export DEBUG ?= true
run: export SECURE_SSL_REDIRECT ?= false
run: export WEBHOOKS_ALLOW_HTTP ?= true
run: export WEBHOOKS_ALLOW_PRIVATE_URLS ?= true
run: install
	$(PY) -m nuvlyx.run --port $(PORT)

# Tests run against the machine's PostgreSQL and Redis (override DATABASE_URL / REDIS_URL).
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/nuvlyx
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
test: install
	$(PY) -m pytest --create-db $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	DJANGO_SETTINGS_MODULE=nuvlyx.test_settings $(PY) -m mypy
	DJANGO_SETTINGS_MODULE=nuvlyx.test_settings $(PY) manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=nuvlyx.test_settings $(PY) manage.py check

bench: install
	$(PY) bench/run.py

bench-smoke: install
	$(PY) bench/run.py --smoke --output bench/results/raw/smoke.md

# openapi-python-client (zero warnings), openapi-typescript + tsc --strict, Redocly lint: clients/check.sh.
client-checks: install
	PY=$(CURDIR)/$(PY) clients/check.sh

clean:
	rm -rf var $(VENV) .tools
