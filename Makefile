# Databourse developer commands. Everything runs from .venv/bin explicitly; no activated shell needed.
#
#   make run     SQLite + localstripe + runserver on http://127.0.0.1:8000 (demo data seeded)
#   make test    ruff, then the whole pytest suite on PostgreSQL + Redis + localstripe (started and stopped here)
#
# Python >= 3.12 is found automatically (scripts/find-python.sh); override with `make PYTHON=/path/python ...`.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?=
ARGS ?=
PORT ?= 8000
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
export VENV

.PHONY: help venv install run worker test bench totp lint format lock services-up services-down services-status \
	messages clean distclean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

venv: install ## alias of install

install: ## create .venv (Python >= 3.12) and install requirements.lock (again only when it changed)
	@PYTHON="$(PYTHON)" scripts/bootstrap-venv.sh

run: install ## migrate + seed_demo on SQLite, localstripe on :8420, runserver on 127.0.0.1:8000 (PORT=...)
	@PORT=$(PORT) scripts/run-dev.sh

worker: install ## a Celery worker (only useful when CELERY_BROKER_URL is set; otherwise tasks run eagerly)
	@if [ -z "$$CELERY_BROKER_URL" ]; then echo "CELERY_BROKER_URL is not set: tasks run eagerly, no worker needed" >&2; exit 1; fi
	DJANGO_SETTINGS_MODULE=$${DJANGO_SETTINGS_MODULE:-config.settings.local} $(BIN)/celery -A config worker -l info

test: install lint ## ruff + pytest against PostgreSQL/Redis/localstripe; extra pytest args: ARGS="-k foo"
	@command -v xgettext >/dev/null || scripts/apt-install.sh gettext  # the catalogue test extracts strings
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || scripts/apt-install.sh chromium fonts-wqy-zenhei  # tests/browser
	@mkdir -p test-output
	@scripts/with-services.sh $(PY) -m pytest --junitxml=test-output/junit.xml $(ARGS)

bench: install ## run the benchmarks in bench/ on PostgreSQL/Redis/localstripe (throw-away database)
	@scripts/with-services.sh $(PY) bench/run.py $(ARGS)

totp: install ## print a demo user's current TOTP code: make totp EMAIL=regulator@demo.databourse.cn
	@if [ -z "$(EMAIL)" ]; then echo "usage: make totp EMAIL=user@example.org" >&2; exit 2; fi
	@DJANGO_SETTINGS_MODULE=config.settings.local $(MANAGE) totp_code "$(EMAIL)"

lint: install ## ruff check + ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## ruff format + ruff check --fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lock: install ## regenerate requirements.lock from pyproject.toml with uv (UPGRADE=1 to upgrade every pin)
	$(PY) -m pip install --disable-pip-version-check -q uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.12 $(if $(UPGRADE),--upgrade) -o requirements.lock
	@PYTHON="$(PYTHON)" scripts/bootstrap-venv.sh

services-up: install ## start PostgreSQL :54329, Redis :63799, localstripe :8420 (prints the env to use)
	@scripts/services.sh start
	@scripts/services.sh env

services-down: ## stop what services-up started
	@scripts/services.sh stop

services-status: ## which services answer
	@scripts/services.sh status

messages: install ## makemessages -l zh_Hans + compilemessages (installs gettext if missing)
	@command -v msgfmt >/dev/null || scripts/apt-install.sh gettext
	$(MANAGE) makemessages -l zh_Hans --ignore='.venv/*' --ignore='var/*' --ignore='test-output/*' \
		--ignore='staticfiles/*' --ignore='bench/*'
	$(MANAGE) compilemessages -l zh_Hans --ignore='.venv' --ignore='var' --ignore='staticfiles'

clean: ## remove caches and test output (keeps .venv and var/)
	rm -rf test-output .pytest_cache .ruff_cache staticfiles
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean ## also stop services started by services-up, remove .venv and var/ (SQLite DB, service data)
	-@scripts/services.sh stop
	rm -rf $(VENV) var
