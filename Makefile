# xvbcrm: `make run` serves the CRM on SQLite with the PBX emulator, `make test` runs the suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Where the PBX emulator posts its webhooks: the CRM that `make run` serves.
CRM_URL = http://$(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST)):$(PORT)
# `make inbound`: N calls from these numbers in turn (three of demo_data's contacts, then a
# stranger), so both a known caller routed to their agent and an unknown one show up.
N ?= 5
# Seconds between a call's events: long enough to watch the pop-up ring, answer and go.
PACE ?= 4
INBOUND_NUMBERS ?= 79201119613,79035550123,79165550147,79161234567

.PHONY: run inbound test install lock migrate lint messages bench bench-lookup bench-ingest bench-click-to-call screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The locked versions (requirements.lock, checked against its hashes), then xvbcrm itself;
# again whenever either file changes. `pip check` fails when pyproject.toml asks for a
# package the lock lacks: `make lock` then.
$(VENV)/.installed: requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

# Refresh requirements.lock (pip-tools) after changing pyproject.toml's dependencies: pins
# that still fit are kept. LOCK_ARGS=--upgrade takes the newest release of everything
# (then raise pyproject.toml's lower bounds to match).
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet "pip-tools>=7.6.2"
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra test \
		--generate-hashes --strip-extras --no-emit-index-url --no-emit-trusted-host \
		--no-emit-find-links --output-file requirements.lock $(LOCK_ARGS) pyproject.toml

install: $(VENV)/.installed

# A local .env for trying the CRM: debug on, a random secret key, the captures' access code,
# and click-to-call pointed at the PBX emulator `make run` starts, with a token of their own.
define WRITE_ENV
import re, secrets
values = {
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_DEBUG": "true",
    "PBX_ACCESS_CODE": "10019",
    "PBX_URL": "http://127.0.0.1:8001/",
    "PBX_TOKEN": secrets.token_urlsafe(24),
}
text = open(".env.example", encoding="utf-8").read()
for name, value in values.items():
    text, found = re.subn(rf"^{name}=.*$$", f"{name}={value}", text, count=1, flags=re.M)
    assert found, f"no {name}= line in .env.example"
with open(".env", "x", encoding="utf-8") as env:
    env.write(text)
endef
export WRITE_ENV

# Settings are read from .env only when asked (xvbcrm/settings.py): these targets ask, so a
# .env left on a server never reaches a production process started without them.
run inbound migrate: export DJANGO_ENV_FILE ?= .env

.env: | $(BIN)/python
	$(BIN)/python -c "$$WRITE_ENV"
	@echo "Wrote .env (DJANGO_DEBUG=true, PBX_ACCESS_CODE=10019 as in the vendor's captures, PBX_URL and PBX_TOKEN of the PBX emulator): edit it for your PBX."

migrate: install .env
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input -v0

# The CRM, a background worker (archives recordings) and, when PBX_URL is an http:// address
# on this machine, the PBX emulator there; demo agents and contacts on a fresh database. All
# run in the background of one shell that waits for the CRM: Ctrl-C (a clean exit, as
# runserver's own) or a TERM to make ends the wait, and the EXIT trap stops them all, so no
# emulator is left holding its port.
# (Background jobs of a non-interactive shell ignore Ctrl-C's SIGINT: the trap's kill is what
# stops them. runserver keeps the terminal as its stdin, through fd 3, for breakpoint().)
# runserver starts a thread per request: keeping connections would leave one open per request.
run: migrate
	$(BIN)/python manage.py ensure_superuser
	$(BIN)/python manage.py demo_data
	@echo
	@echo "xvbcrm: the CRM at $(CRM_URL)/, the PBX emulator at PBX_URL in .env."
	@echo "  1. Open $(CRM_URL)/admin/ and log in as admin, with the password printed when"
	@echo "     that user was created. Forgot it? Commands read .env only when asked:"
	@echo "     DJANGO_ENV_FILE=.env $(BIN)/python manage.py changepassword admin"
	@echo "  2. Contacts (Контакты) → Вася → press Call (Позвонить) beside the number: the emulated"
	@echo "     PBX connects your extension, 100, with the client, and within seconds the call is"
	@echo "     in Calls (Звонки) with its recording."
	@echo "  3. Inbound calls: make inbound (N=5) in another terminal. Calls routed to you (100,"
	@echo "     Вася's responsible) pop up on any admin page while they ring; missed ones become"
	@echo "     callbacks (Calls → Callbacks) with a Call back button."
	@echo "  The PBX's WebHook URL: $(CRM_URL)/crm-api. A worker archives the recordings: they"
	@echo "  play from the CRM's own copy. Ctrl-C stops the CRM, the worker and the emulator."
	@echo
	@trap 'kill $$pbx $$worker $$crm 2>/dev/null; wait' EXIT; trap 'exit 0' INT; \
	trap 'exit 143' TERM; \
	exec 3<&0; \
	PYTHONUNBUFFERED=1 $(BIN)/python manage.py pbx_emulator --from-settings \
		--crm-url $(CRM_URL)/crm-api & pbx=$$!; \
	$(BIN)/python manage.py db_worker --no-reload --interval 1 </dev/null & worker=$$!; \
	DB_CONN_MAX_AGE=0 $(BIN)/python manage.py runserver $(HOST):$(PORT) <&3 3<&- & crm=$$!; \
	wait $$crm

# N inbound calls into the CRM `make run` serves, from a second, short-lived emulator; their
# recording links point at the emulator `make run` started (PBX_URL), which serves them all.
inbound: install .env
	$(BIN)/python manage.py pbx_emulator --port 0 --inbound $(N) --numbers $(INBOUND_NUMBERS) \
		--pace $(PACE) --exit --crm-url $(CRM_URL)/crm-api --recordings-from PBX_URL

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# After changing strings: new ones join locale/ru/LC_MESSAGES/django.po with an empty msgstr
# (translations already there are kept), to be translated there; then the .mo is compiled.
# Needs gettext; the .mo is committed, so installing xvbcrm does not. tests/test_translations.py
# runs makemessages with the same ignores.
messages: install
	DJANGO_DEBUG=true $(BIN)/python manage.py makemessages -l ru --ignore=.venv --ignore=tests --ignore=benchmarks
	DJANGO_DEBUG=true $(BIN)/python manage.py compilemessages -l ru --ignore=.venv

lint: install
	$(BIN)/ruff check .

# The whole speed table (lookup, import, ingest, admin, memory at a million rows) on SQLite;
# BENCH_ARGS="--database-url postgres://postgres@127.0.0.1:5432/NAME" for PostgreSQL, --quick
# for a short try, --keep URL to seed once (`benchmarks/bench.py --help`).
bench: install
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

# docs/screenshots/: the daily screens at 1366×768, in Russian, on a throwaway database
# (scripts/screenshots.py; needs Debian's chromium).
screenshots: install
	$(BIN)/python scripts/screenshots.py

bench-lookup: install
	$(BIN)/python benchmarks/lookup.py $(BENCH_ARGS)

# Event ingest alone against the journal-only path, in about a minute (benchmarks/ingest.py).
bench-ingest: install
	$(BIN)/python benchmarks/ingest.py $(BENCH_ARGS)

bench-click-to-call: install
	$(BIN)/python benchmarks/click_to_call.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) test_db.sqlite3*
