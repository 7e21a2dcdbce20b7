# Clinic practice portal: `make run` starts everything, `make test` runs the suite.
#
# Both set up what they need first: the virtualenv (.venv, Python 3.11),
# PostgreSQL and Redis on this machine (installed and started when missing, see
# portal/scripts/ensure-services.sh), and the database. `make help` lists the
# other targets.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-installed
MANAGE := $(PY) manage.py

# Same defaults as portal/settings.py; the environment wins.
export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/portal
export REDIS_URL ?= redis://127.0.0.1:6379/0
export PORTAL_DOMAIN ?= localhost
export DEMO_PASSWORD ?= Riverside-demo-2026
PORT ?= 8000
HOST ?= 0.0.0.0
# Links in emails point here (a clinic's site is <slug>.<this host>).
export PORTAL_PUBLIC_URL ?= http://$(PORTAL_DOMAIN):$(PORT)
CELERY_LOGLEVEL ?= info

PYTEST_ARGS ?=
BENCH_ARGS ?=
ifneq ($(SKIP_BROWSER),)
PYTEST_ARGS += -m "not browser"
endif

.PHONY: help run test lint venv services migrate static demo chromium ocr bench bench-schedule bench-reminders bench-billing bench-http bench-scale bench-records bench-live clean distclean

help:
	@echo "make run        set everything up, then serve on http://$(PORTAL_DOMAIN):$(PORT) (Ctrl-C stops)"
	@echo "make test       set everything up, lint, then run the whole test suite (PYTEST_ARGS=... to narrow)"
	@echo "make lint       ruff check and ruff format --check (configured in pyproject.toml)"
	@echo "make venv       create .venv with $(PYTHON) and install requirements.txt"
	@echo "make services   make sure PostgreSQL and Redis answer and the database exists"
	@echo "make migrate    migrate the public schema, ensure the platform rows, migrate every clinic"
	@echo "make demo       provision the demo clinic (idempotent)"
	@echo "make bench      run bench/patients.py (BENCH_ARGS=... for its options)"
	@echo "make bench-schedule  run bench/schedule.py: week view, slots API, booking race (BENCH_ARGS=...)"
	@echo "make bench-reminders run bench/reminders.py: 20,000 reminders through a worker to the simulator, claim plan (BENCH_ARGS=...)"
	@echo "make bench-billing   run bench/billing.py: A/R aging, claims work list, 837P export, 835 import (BENCH_ARGS=...)"
	@echo "make bench-http run bench/http.py: the served portal over HTTP against a minimal reference (BENCH_ARGS=...)"
	@echo "make bench-records run bench/records.py: documents extracted per minute by one worker host (BENCH_ARGS=...)"
	@echo "make bench-live  run bench/live.py: status callbacks to 200 and 1,000 sockets, 2,000 idle sockets (BENCH_ARGS=...)"
	@echo "make bench-scale run bench/scale.py: 1,000 clinics in a database of its own, at nice 19, resumable (BENCH_ARGS=...)"
	@echo "make clean      remove collected static files, caches and test output"

# --- Virtualenv: requirements are reinstalled only when requirements.txt changes ---

venv: $(STAMP)

$(PY):
	@command -v $(PYTHON) >/dev/null || { \
	  echo "$(PYTHON) is not installed. On Debian: apt-get install -y python3.11 python3.11-venv" >&2; \
	  echo "(or point PYTHON=... at a Python 3.11 interpreter)." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# --- Services and database ---------------------------------------------------------

services:
	@bash portal/scripts/ensure-services.sh

migrate: venv services
	$(MANAGE) migrate_schemas --shared --noinput
	$(MANAGE) ensure_platform
	$(MANAGE) migrate_schemas --tenant --executor=multiprocessing --noinput

static: venv
	$(MANAGE) collectstatic --noinput --verbosity 0

demo: migrate
	$(MANAGE) provision_demo --port $(PORT)

# --- Run ---------------------------------------------------------------------------

# The supervisor of `make run`: starts the four processes, prints where to go,
# and stops them all on Ctrl-C (or when any one of them exits).
define RUN_SCRIPT
set -uo pipefail
mkdir -p var
pids=()
names=()
stopping=0

stop_all() {
    [ "$$stopping" = 1 ] && return 0
    stopping=1
    # A second signal (make and timeout both pass TERM on) must not cut this short.
    trap '' INT TERM
    [ "$${#pids[@]}" -gt 0 ] || return 0
    echo
    echo "Stopping $${names[*]}..."
    for pid in "$${pids[@]}"; do kill -TERM -- "-$$pid" "$$pid" 2>/dev/null || true; done
    for _ in $$(seq 1 75); do
        alive=0
        for pid in "$${pids[@]}"; do kill -0 "$$pid" 2>/dev/null && alive=1; done
        [ "$$alive" = 0 ] && break
        sleep 0.2
    done
    for pid in "$${pids[@]}"; do kill -KILL -- "-$$pid" "$$pid" 2>/dev/null || true; done
    wait "$${pids[@]}" 2>/dev/null || true
    echo "All stopped."
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# start NAME COMMAND...: in its own session (so stopping it stops its pool
# processes too), output prefixed with [NAME] and kept in var/run.log.
: > var/run.log
start() {
    local name="$$1"; shift
    setsid "$$@" > >(sed -u "s/^/[$$name] /" | tee -a var/run.log) 2>&1 < /dev/null &
    pids+=("$$!")
    names+=("$$name")
}

start web $(PY) -m portal.serving --host "$$HOST" --port "$$PORT"
start worker $(VENV)/bin/celery -A portal worker --loglevel "$$CELERY_LOGLEVEL" --concurrency 2
start beat $(VENV)/bin/celery -A portal beat --loglevel "$$CELERY_LOGLEVEL" --schedule var/celerybeat-schedule
start carrier $(PY) manage.py carrier_simulator

# Wait until the web server accepts connections (a minute at most) and the
# worker says it is ready (20 s more at most), then say where to go.
check_alive() {
    for i in "$${!pids[@]}"; do
        if ! kill -0 "$${pids[$$i]}" 2>/dev/null; then
            echo "$${names[$$i]} exited while starting; see its lines above." >&2
            exit 1
        fi
    done
}
for _ in $$(seq 1 120); do
    (exec 3<>"/dev/tcp/127.0.0.1/$$PORT") 2>/dev/null && break
    check_alive
    sleep 0.5
done
for _ in $$(seq 1 40); do
    grep -q '^\[worker\] .* ready\.$$' var/run.log && break
    check_alive
    sleep 0.5
done
suffix=":$$PORT"; [ "$$PORT" = 80 ] && suffix=""
cat <<EOF

==============================================================================
 Clinic practice portal is running. Ctrl-C stops everything.

   public site      http://$$PORTAL_DOMAIN$$suffix
   demo clinic      http://demo.$$PORTAL_DOMAIN$$suffix
   platform admin   http://$$PORTAL_DOMAIN$$suffix/admin/
   clinic admin     http://demo.$$PORTAL_DOMAIN$$suffix/admin/
   partner API      http://demo.$$PORTAL_DOMAIN$$suffix/api/
   carrier sim      $${TWILIO_API_BASE:-http://127.0.0.1:8099}/_sim/state
EOF
$(MANAGE) provision_demo --logins-only --port "$$PORT"
echo "=============================================================================="
echo

wait -n "$${pids[@]}"
for i in "$${!pids[@]}"; do
    if ! kill -0 "$${pids[$$i]}" 2>/dev/null; then
        echo "$${names[$$i]} exited; stopping the others." >&2
    fi
done
exit 1
endef
export RUN_SCRIPT

run: static demo ocr
	@HOST="$(HOST)" PORT="$(PORT)" CELERY_LOGLEVEL="$(CELERY_LOGLEVEL)" bash -c 'eval "$$RUN_SCRIPT"'

# --- Test ----------------------------------------------------------------------------

# Browser tests drive Debian's chromium through Playwright.
chromium:
	@if [ -x /usr/bin/chromium ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Chromium is missing; installing it: apt-get install -y chromium"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif [ -n "$(SKIP_BROWSER)" ]; then \
	  echo "Chromium is missing; browser tests are left out (SKIP_BROWSER is set)."; \
	else \
	  echo "Chromium (/usr/bin/chromium) is missing and installing it needs root. Either run" >&2; \
	  echo "    sudo apt-get update && sudo apt-get install -y chromium" >&2; \
	  echo "and run make test again, or leave the browser tests out with" >&2; \
	  echo "    make test SKIP_BROWSER=1" >&2; \
	  exit 1; \
	fi

# Document extraction runs Debian's Tesseract with English and Spanish.
OCR_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-spa
ocr:
	@if command -v tesseract >/dev/null && [ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] \
	    && [ -f /usr/share/tesseract-ocr/5/tessdata/spa.traineddata ]; then \
	  :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "Tesseract (English, Spanish) is missing; installing it: apt-get install -y $(OCR_PACKAGES)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OCR_PACKAGES) >/dev/null; \
	else \
	  echo "Tesseract is missing and installing it needs root. Run" >&2; \
	  echo "    sudo apt-get update && sudo apt-get install -y $(OCR_PACKAGES)" >&2; \
	  echo "and run make again." >&2; \
	  exit 1; \
	fi

# Lint and format are policy: a violation fails `make test` (and so CI).
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint migrate chromium ocr static
	@set +e; $(PY) -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ "$$status" = 5 ]; then \
	  echo "make test: pytest ran no tests (exit code 5); that counts as a failure." >&2; \
	fi; \
	exit $$status

# --- Benchmarks and housekeeping -------------------------------------------------------

bench: migrate
	$(PY) bench/patients.py $(BENCH_ARGS)

bench-schedule: migrate
	$(PY) bench/schedule.py $(BENCH_ARGS)

# Its own database and Redis db (created and migrated by the script): no other worker touches it.
bench-reminders: venv services
	$(PY) bench/reminders.py $(BENCH_ARGS)

bench-billing: migrate
	$(PY) bench/billing.py $(BENCH_ARGS)

# Its own databases (portal_scale and a 10-clinic reference, created and migrated
# by the script) and Redis db 14; at nice 19, in steps of 100, resumable.
bench-scale: venv services static
	nice -n 19 $(PY) bench/scale.py $(BENCH_ARGS)

# The reference app's packages are bench-only (bench/requirements.txt); wrk is
# Debian's, installed by bench/http.py when missing.
bench-http: migrate static
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
	$(PY) bench/http.py $(BENCH_ARGS)

# Its own clinic in the development database; a real worker (2 processes) on Redis.
bench-records: migrate ocr
	$(PY) bench/records.py $(BENCH_ARGS)
# The server as `make run` starts it, on a free port in 8350-8399; the clinic
# bench-live is provisioned in the configured database and reused.
bench-live: migrate static
	$(PY) bench/live.py $(BENCH_ARGS)

clean:
	rm -rf var/staticfiles var/celerybeat-schedule* var/run.log test-results bench/results .pytest_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
