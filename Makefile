# Two commands: `make demo` runs the system, `make test` passes the tests. Both set everything up first.
VENV := .venv
BIN := $(VENV)/bin
export DISPATCH_ENV ?= dev

.PHONY: setup setup-test demo test bench faults lint clean

setup:
	@scripts/bootstrap.sh

setup-test:
	@scripts/bootstrap.sh --browser

demo: setup
	@$(BIN)/dispatch demo

CODE := dispatch geo simulator tests benchmarks loadtests migrations setup.py

# The checks first (`make lint`: ruff, the format, mypy), then the suite.
test: setup-test lint
	@scripts/run-tests.sh

# A bounded load test on 127.0.0.1 (a fresh bench database; about a minute): RATE, DURATION, UNITS to change it.
RATE ?= 50
DURATION ?= 30
UNITS ?= 1000
bench: setup
	@$(BIN)/dispatch bench --rate $(RATE) --duration $(DURATION) --units $(UNITS)

# The fault benchmark (docs/reliability.md): its own Redis and PostgreSQL, each fault in a run of its own, on
# 127.0.0.1 (about 7 minutes); FAULTS="--scenario redis-restart" to choose.
faults: setup
	@$(BIN)/python -m benchmarks.faults $(FAULTS)

# The same checks as `make test` and .pre-commit-config.yaml, without the tests; mypy's scope is in pyproject.toml.
lint: setup
	@$(BIN)/ruff check $(CODE)
	@$(BIN)/ruff format --check $(CODE)
	@$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache
