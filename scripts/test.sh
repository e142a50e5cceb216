#!/usr/bin/env bash
# The whole test suite: lint, format check, strict typing, then pytest (arguments go to pytest).
source "$(dirname "$0")/_venv.sh"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
