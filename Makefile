# Foodies: `make run` to try it, `make test` to check it. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install system-deps messages run test test-pgbouncer lint format serve serve-streams worker beat migrate seed clean

# Re-installs whenever requirements.txt changes.
$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: system-deps $(VENV)/.installed messages

# Translations: Django's compilemessages (GNU gettext's msgfmt) turns config/locale's .po files
# into the .mo files Django reads (not in git). No settings needed: it finds the locale folder.
messages: $(VENV)/.installed
	@cd config && DJANGO_SETTINGS_MODULE= ../$(VENV)/bin/django-admin compilemessages

# Debian packages (WeasyPrint's text stack and fonts, redis-server, gettext for the
# translations): installed when missing.
system-deps:
	@sh .ci/system-deps

# Frontend dev servers (Next.js/CRA, Vite) allowed to call the local API from a browser.
DEV_CORS_ORIGINS ?= http://localhost:3000,http://127.0.0.1:3000,http://localhost:5173
# A local .env: DEBUG on, a fresh secret, CORS for the dev servers. An existing .env is never overwritten.
.env:
	@secret=$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))'); \
	sed -e "s|^DEBUG=.*|DEBUG=true|" -e "s|^SECRET_KEY=.*|SECRET_KEY=$$secret|" \
		-e "s|^CORS_ALLOWED_ORIGINS=.*|CORS_ALLOWED_ORIGINS=$(DEV_CORS_ORIGINS)|" .env.example > .env
	@echo "Wrote .env (DEBUG=true, fresh SECRET_KEY, CORS for $(DEV_CORS_ORIGINS))."

migrate: install .env
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed

run: seed
	@echo ""
	@echo "  Foodies on http://$(HOST):$(PORT)/"
	@echo "  API docs (Swagger UI): http://$(HOST):$(PORT)/api/docs/"
	@echo "  OpenAPI schema:        http://$(HOST):$(PORT)/api/schema/"
	@echo "  Admin:                 http://$(HOST):$(PORT)/admin/"
	@$(PY) manage.py seed --logins
	@echo ""
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	$(PY) -m pytest

# The race tests (postgres_only) through a pgbouncer in transaction pooling mode that the
# test session starts (config/tests/pgbouncer.py); needs DATABASE_URL=postgres://...
test-pgbouncer: install
	@sh .ci/system-deps pgbouncer
	$(PY) -m pytest --pgbouncer -m postgres_only

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Production-like: gunicorn (request limits and timeout in gunicorn.conf.py), static files
# collected; settings from the environment/.env.
serve: install
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py migrate --noinput
	$(VENV)/bin/gunicorn config.wsgi:application --config gunicorn.conf.py --bind $(HOST):$(PORT) \
		--workers $${WEB_CONCURRENCY:-3} --access-logfile -

# The live order status streams (/api/v1/orders/{number}/events/, /api/v1/kitchen/events/) on
# uvicorn (config/asgi.py), beside `make serve`: the proxy in front routes those two paths here
# (README, "Live order status"). An open stream holds no thread; fan-out across instances
# through Redis (CELERY_BROKER_URL or CACHE_URL). Open streams are given 5 s at shutdown.
STREAM_PORT ?= 8001
serve-streams: install
	$(VENV)/bin/uvicorn config.asgi:application --host $(HOST) --port $(STREAM_PORT) \
		--workers $${STREAM_WORKERS:-1} --timeout-graceful-shutdown 5 --no-access-log --lifespan off

# Background work with a broker (CELERY_BROKER_URL in the environment or .env): one or more
# workers, and exactly one beat. Without a broker the app runs its tasks itself.
worker: install
	$(VENV)/bin/celery -A config worker --loglevel=INFO --concurrency=$${CELERY_CONCURRENCY:-2}

beat: install
	$(VENV)/bin/celery -A config beat --loglevel=INFO

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache celerybeat-schedule* .ci/clients/node_modules .ci/clients/build

# Load benchmark (bench/README.md): a scratch PostgreSQL database, gunicorn, wrk (installed
# with apt-get when missing). Options through BENCH_ARGS, e.g. BENCH_ARGS="--scenarios list".
.PHONY: bench
bench: install
	$(PY) bench/run.py $(BENCH_ARGS)

# Multi-process correctness under faults (.ci/stress/run.py): two gunicorn instances, a
# private redis-server, a Celery worker and beat, 200 shoppers a wave on a scratch database;
# invariants checked from the database. STRESS_ARGS="--ci" is CI's size (60 shoppers).
.PHONY: stress stress-topology fuzz security
stress: install
	$(PY) .ci/stress/run.py $(STRESS_ARGS)

# The production topology under the same waves (.ci/stress/topology.py): three instances with
# separate local disks, files in an S3-protocol store (moto server), PgBouncer in transaction
# pooling mode, a private redis-server, two Celery workers and beat; wave 2 kills an instance,
# stops the store and restarts PgBouncer. CI's size by default; STRESS_ARGS to change it.
stress-topology: install
	@sh .ci/system-deps pgbouncer
	$(PY) .ci/stress/run.py --topology $(or $(STRESS_ARGS),--ci)

# API fuzzing (.ci/fuzz.py): schemathesis, every check, as shoppers (two peers) and as staff,
# against gunicorn on a scratch database. FUZZ_ARGS="--ci" is CI's size.
fuzz: install
	$(PY) .ci/fuzz.py $(FUZZ_ARGS)

# Security checks: Django's deploy check with production settings (and the project's own:
# payments/checks.py, accounts/checks.py), and bandit on the project's code (tests and
# migrations aside). Any medium or high finding fails; one judged harmless carries
# `# nosec BXXX` with its reason on the line above. The settings are a real deployment's:
# Midtrans with a (random, sandbox-shaped) server key and status verification on, never the
# mock, which production refuses; CACHE_URL names a Redis, as a production deployment must
# (accounts.W001 warns about per-process throttles). The check connects to neither.
BANDIT_PATHS := accounts catalog cart orders payments invoices config bench .ci manage.py gunicorn.conf.py
security: install
	env DEBUG=false SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(64))')" \
		ALLOWED_HOSTS=shop.example.com PUBLIC_BASE_URL=https://shop.example.com DATABASE_URL=sqlite:///$(CURDIR)/.ci-security.sqlite3 \
		CACHE_URL=redis://127.0.0.1:6379/1 \
		SECURE_SSL_REDIRECT=true SESSION_COOKIE_SECURE=true CSRF_COOKIE_SECURE=true \
		PAYMENT_GATEWAY=midtrans MIDTRANS_IS_PRODUCTION=false MIDTRANS_VERIFY_STATUS=true \
		MIDTRANS_SERVER_KEY="SB-Mid-server-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(18))')" \
		$(PY) manage.py check --deploy --fail-level WARNING
	rm -f .ci-security.sqlite3*
	$(VENV)/bin/bandit -q -r $(BANDIT_PATHS) -x '*/tests/*,*/migrations/*' --severity-level medium

# Generated clients (.ci/clients/run.py; issue 18): a TypeScript client (openapi-typescript,
# openapi-fetch, tsc --strict) and a Python one (openapi-python-client, mypy --strict) from
# the live schema run the README's shopper and staff journeys without casts against gunicorn
# on a scratch SQLite database; openapi-core validates every answer they got. Node and npm
# come from Debian when missing; the npm packages from .ci/clients/package-lock.json.
.PHONY: clients
$(VENV)/.clients-installed: .ci/clients/requirements.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r .ci/clients/requirements.txt
	touch $@

.ci/clients/node_modules/.package-lock.json: .ci/clients/package-lock.json
	@sh .ci/system-deps node
	cd .ci/clients && npm ci --no-audit --no-fund --loglevel=error

clients: install $(VENV)/.clients-installed .ci/clients/node_modules/.package-lock.json
	$(PY) .ci/clients/run.py $(CLIENTS_ARGS)
