# Two commands on a fresh machine with only Python 3.11+:
#   make run    start everything (embedded PostgreSQL + Redis, migrations, demo data, API, worker);
#               `make run PORT=8100 HOST=0.0.0.0` picks the address (default 127.0.0.1:8000)
#   make test   lint, type check, then the whole test suite (same embedded services, separate data)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install bench-seed clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --disable-pip-version-check -q --upgrade pip
	$(BIN)/pip install --disable-pip-version-check -q -e '.[embedded,dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/ecom dev $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

test: $(STAMP)
	$(BIN)/ruff check app schema workers tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .data
