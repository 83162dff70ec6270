# xvbcrm: `make run` serves the CRM on SQLite, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install migrate lint messages bench-lookup clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

# A local .env for trying the CRM: debug on, a random secret key, the captures' access code.
.env: | $(BIN)/python
	$(BIN)/python -c "import secrets; print(open('.env.example').read().replace('DJANGO_SECRET_KEY=', 'DJANGO_SECRET_KEY=' + secrets.token_urlsafe(50), 1).replace('DJANGO_DEBUG=false', 'DJANGO_DEBUG=true', 1).replace('PBX_ACCESS_CODE=', 'PBX_ACCESS_CODE=10019', 1), end='')" > .env
	@echo "Wrote .env (DJANGO_DEBUG=true, PBX_ACCESS_CODE=10019 as in the vendor's captures): edit it for your PBX."

migrate: install .env
	$(BIN)/python manage.py migrate --no-input
	$(BIN)/python manage.py collectstatic --no-input -v0

# runserver starts a thread per request: keeping connections would leave one open per request.
run: migrate
	$(BIN)/python manage.py ensure_superuser
	@echo "xvbcrm: admin at http://$(HOST):$(PORT)/admin/, PBX WebHook URL http://$(HOST):$(PORT)/crm-api"
	DB_CONN_MAX_AGE=0 $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Refresh the Russian translation after changing strings (needs gettext; the compiled .mo
# is committed, so installing xvbcrm does not).
messages: install
	DJANGO_DEBUG=true $(BIN)/python manage.py makemessages -l ru --ignore=.venv --ignore=tests --ignore=benchmarks
	$(BIN)/python locale/merge_ru.py
	DJANGO_DEBUG=true $(BIN)/python manage.py compilemessages -l ru --ignore=.venv

lint: install
	$(BIN)/ruff check .

bench-lookup: install
	$(BIN)/python benchmarks/lookup.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) test_db.sqlite3*
