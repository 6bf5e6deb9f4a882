# The two commands of the README:
#   make serve   installs everything and starts the app at http://127.0.0.1:8000
#   make test    installs everything and runs every test (Python, vitest, Playwright)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test install ray frontend browser bench

serve: install frontend
	$(BIN)/blocklab serve

test: install ray frontend browser
	./scripts/test-all

install: $(VENV)/.installed

# torch==2.13.0 is pinned in pyproject.toml: it installs from the local CPU wheel.
$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# The Ray runner's tests start a real loopback cluster; the app itself never needs Ray.
ray: $(VENV)/.ray-installed
$(VENV)/.ray-installed: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[ray]'
	touch $@

frontend: frontend/node_modules/.installed
	cd frontend && npm run build

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

# Playwright drives Debian's Chromium; its own browser download is blocked here.
browser:
	@command -v chromium >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Full benchmarks (minutes); `make test` runs each once in its quick mode.
bench: install frontend browser
	$(BIN)/python bench/builder.py
	$(BIN)/python bench/training.py
	node bench/frontend/bench.mjs
