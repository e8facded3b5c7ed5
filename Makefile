# Keepsake — the commands a newcomer needs. `make run` to try it, `make test` to test it.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run mailbox superuser test test-fast test-time bench lint format audit migrations-check clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed  ## Create the virtualenv and install pinned dependencies

# Web, Celery worker and beat together, on SQLite, a filesystem broker and a local
# mailbox under var/. Ctrl-C stops all three.
run: install
	@mkdir -p var
	DJANGO_DEBUG=true $(PY) manage.py migrate --noinput
	DJANGO_DEBUG=true $(PY) manage.py createcachetable
	@echo ""
	@echo "  Keepsake is starting at  http://$(HOST):$(PORT)/"
	@echo "  Its e-mails land in      http://$(HOST):$(PORT)/email/mailbox/  (or: make mailbox)"
	@echo "  Ctrl-C stops web, worker and beat."
	@echo ""
	DJANGO_DEBUG=true KEEPSAKE_BASE_URL=http://$(HOST):$(PORT) HOST=$(HOST) PORT=$(PORT) \
		PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho -e /dev/null -f Procfile.dev start
# (-e /dev/null: honcho would otherwise read a .env made for a deployment, whose values
# win over the ones above.)

mailbox: install  ## List the local mailbox of `make run` (make mailbox N=1 shows message 1)
	DJANGO_DEBUG=true $(PY) manage.py mailbox $(N)

superuser: install  ## An admin account for the local run (the admin is at /admin/)
	DJANGO_DEBUG=true $(PY) manage.py createsuperuser

# The whole suite. With DATABASE_URL / REDIS_URL set it runs on PostgreSQL and Redis;
# REQUIRE_SERVICES=1 turns "service missing" skips into failures (CI sets it).
test: install
	$(PY) manage.py makemigrations --check --dry-run --settings=config.settings_test
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install  ## Everything but the browser and the real-service tests
	$(PY) -m pytest -m "not e2e and not integration" $(PYTEST_ARGS)

# The fast suite twice more, with the clock of the whole process (Debian's faketime)
# moved 400 days on and 200 days back: a test that only passes on the day it was
# written fails here. Tests still pin their own clock with time_machine, which wins.
test-time: install  ## The fast suite under a clock 400 days ahead, then 200 days behind
	@command -v faketime >/dev/null || { echo "make test-time needs faketime (apt-get install faketime)"; exit 1; }
	faketime '+400 days' $(PY) -m pytest -m "not e2e and not integration" $(PYTEST_ARGS)
	faketime '-200 days' $(PY) -m pytest -m "not e2e and not integration" $(PYTEST_ARGS)

bench: install  ## Benchmarks: print figures (run on PostgreSQL with DATABASE_URL for real numbers)
	$(PY) -m bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

audit: install
	$(VENV)/bin/pip install --quiet pip-audit==2.10.1
	$(VENV)/bin/pip-audit --skip-editable

clean:
	rm -rf $(VENV) var/broker var/static
