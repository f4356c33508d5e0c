# The two commands: `make run` and `make test`. Everything else is what they need.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_FLAGS := --quiet --disable-pip-version-check
HOST ?= 127.0.0.1
PORT ?= 8000
# The server as deploy/systemd/aurum@.service runs it (the Dockerfile and docker-compose.yml
# too): uvicorn reads a request body only as fast as the app asks for it, and the app refuses
# one over REQUEST_MAX_BODY_BYTES (aurum.bodylimit); HTTP requests are logged by the app.
SERVE_FLAGS := --no-proxy-headers --no-access-log --no-server-header --ws-per-message-deflate false --timeout-graceful-shutdown 20

.PHONY: run test install migrate lint format schema check ci bench-auth bench-search bench-feed bench-reads bench-chat bench-chat-chaos bench-faults bench-load bench-queue bench-queue-chaos bench-otp clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_FLAGS) -r requirements-dev.txt 2>&1 | { grep -v "^WARNING: Location" || true; }
	$(VENV)/bin/pip check
	touch $@

install: $(VENV)/.installed

migrate: install
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py seed_demo --profiles 200
	@echo "Aurum on http://$(HOST):$(PORT)/  (API docs /docs, admin /admin/)"
	$(VENV)/bin/uvicorn aurum.asgi:application --host $(HOST) --port $(PORT) $(SERVE_FLAGS)

test: install
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

schema: install
	$(PY) manage.py spectacular --validate --fail-on-warn --file /dev/null

check: install
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) manage.py check

bench-auth: install
	$(PY) bench/auth.py

bench-search: install
	$(PY) bench/search.py

bench-feed: install
	$(PY) bench/feed.py

bench-reads: install
	$(PY) bench/reads.py

bench-chat: install
	$(PY) bench/chat.py

bench-chat-chaos: install
	$(PY) bench/chat_chaos.py

bench-faults: install
	$(PY) bench/faults.py

bench-load: install
	$(PY) bench/load.py

bench-queue: install
	$(PY) bench/celery_queue.py

bench-queue-chaos: install
	$(PY) bench/deliveries_chaos.py

bench-otp: install
	$(PY) bench/otp_send.py

clean:
	rm -rf $(VENV) var staticfiles
