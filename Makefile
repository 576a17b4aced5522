# The two commands of the README's quick start. Each works on a fresh machine
# with Python 3.11+: it makes .venv, installs into it and runs.
PY ?= python3
VENV ?= .venv
PORT ?= 8501
# `make serve` listens here (every interface); `make run` only on 127.0.0.1.
ADDRESS ?= 0.0.0.0

.PHONY: run serve test test-all venv test-deps

$(VENV)/bin/python:
	$(PY) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip

venv: $(VENV)/bin/python

# Install and start the dashboard on the bundled sample data. MALLOC_ARENA_MAX=2: glibc keeps two
# heaps instead of one per busy thread, so what a closed dataset freed goes back (README "Large files").
run: venv
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2} \
		$(VENV)/bin/python -m streamlit run dashboard/app.py --server.port $(PORT) --server.address 127.0.0.1

# Serve a team on the network: sign-in required (create an admin first:
# `.venv/bin/python -m core users add NAME --role admin`). No TLS: see README "Serve a team".
serve: venv
	$(VENV)/bin/python -m pip install --quiet -r requirements.txt
	SIEVE_SERVE=team HF_HUB_OFFLINE=$${HF_HUB_OFFLINE:-1} MALLOC_ARENA_MAX=$${MALLOC_ARENA_MAX:-2} \
		$(VENV)/bin/python -m streamlit run dashboard/app.py \
		--server.port $(PORT) --server.address $(ADDRESS)

# Install what the tests need (Python packages; Chromium from the system
# packages when running as root and it is missing) and run the default tiers.
test-deps: venv
	$(VENV)/bin/python -m pip install --quiet -r requirements-dev.txt
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
		|| echo "could not install chromium: the browser test will skip"; \
	fi

test: test-deps
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Every tier that runs on this machine, the slow one too (about 3 minutes more on 2 cores).
test-all:
	$(MAKE) test PYTEST_ARGS='-m "slow or not slow"'
