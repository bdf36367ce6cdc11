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

install: $(VENV)/.installed

# Embedded default: SQLite under var/, a filesystem Celery broker, a real worker + beat.
run: export DEBUG ?= true
run: export SECURE_SSL_REDIRECT ?= false
run: export WEBHOOKS_ALLOW_HTTP ?= true
run: export WEBHOOKS_ALLOW_PRIVATE_URLS ?= true
run: install
	mkdir -p var/celery/queue var/celery/control
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup
	@echo "Starting web (http://127.0.0.1:$(PORT)/admin/), Celery worker and beat. Ctrl-C stops all."
	@trap 'kill 0' INT TERM EXIT; \
	  $(PY) -m celery -A nuvlyx worker --beat --loglevel INFO --concurrency 2 \
	     --schedule var/celerybeat-schedule --without-gossip --without-mingle & \
	  $(PY) manage.py runserver 127.0.0.1:$(PORT) --noreload

# Tests run against the machine's PostgreSQL and Redis (override DATABASE_URL / REDIS_URL).
test: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/nuvlyx
test: export REDIS_URL ?= redis://127.0.0.1:6379/0
test: install
	$(PY) -m pytest --create-db $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
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
