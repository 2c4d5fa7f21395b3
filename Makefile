# The two commands a newcomer needs: `make demo` and `make test`. Both create the environment first.
VENV ?= .venv
PYTHON ?= python3
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: demo lint test bench browser clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c requirements.lock -e '.[export,test]'
	rm -f $(VENV)/.installed-* && touch $@

demo: $(STAMP)
	$(VENV)/bin/deskloop demo --helpdesk-shaped

# The browser tests drive Debian's Chromium; Playwright never downloads a browser of its own.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Configured in pyproject.toml ([tool.ruff], [tool.mypy]); `make test` runs it first.
lint: $(STAMP)
	$(VENV)/bin/ruff check core integrations manifests tests bench
	$(VENV)/bin/mypy

test: $(STAMP) lint browser
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(VENV)/bin/python bench/import_throughput.py

clean:
	rm -rf $(VENV) artifacts

# Refresh the lock from the current environment (after a deliberate upgrade, with the tests green).
lock: $(STAMP)
	{ sed -n '1,3p' requirements.lock; $(VENV)/bin/pip freeze --exclude-editable; } > requirements.lock.new
	mv requirements.lock.new requirements.lock
