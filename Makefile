# Two commands do everything on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test browser bench clean

$(VENV)/bin/activate:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=python3"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamp files make a second run skip what is already installed.
$(VENV)/.installed: requirements.txt requirements-ml.txt | $(VENV)/bin/activate
	$(PIP) install --quiet -r requirements.txt
	touch $@

# datumaro (a judge of our COCO in the tests) pins an older Pillow than ours; it runs fine on
# ours, so it and its own dependencies are installed without dependency resolution.
$(VENV)/.installed-test: requirements-test.txt requirements-coco-test.txt $(VENV)/.installed
	$(PIP) install --quiet -r requirements-test.txt
	$(PIP) install --quiet --no-deps -r requirements-coco-test.txt
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded).
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

run: install
	./scripts/run.sh $(HOST) $(PORT)

test: install-test browser
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install-test browser
	$(PY) -m bench

clean:
	rm -rf $(VENV) var
