# Two commands: `make demo` runs the system, `make test` passes the tests. Both set everything up first.
VENV := .venv
BIN := $(VENV)/bin
export DISPATCH_ENV ?= dev

.PHONY: setup setup-test demo test lint clean

setup:
	@scripts/bootstrap.sh

setup-test:
	@scripts/bootstrap.sh --browser

demo: setup
	@$(BIN)/dispatch demo

test: setup-test
	@scripts/run-tests.sh

lint: setup
	@$(BIN)/ruff check dispatch geo simulator tests

clean:
	rm -rf $(VENV) var .pytest_cache
