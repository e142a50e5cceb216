# Shared by demo.sh and test.sh: make .venv (once) and install greenbump with its test tools.
# Sourced, not run. Uses the first Python 3.10+ it finds unless PYTHON is set.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${PYTHON:-}" ]; then
  for candidate in python3 python3.13 python3.12 python3.11 python3.10 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
      PYTHON=$candidate
      break
    fi
  done
fi
: "${PYTHON:?greenbump needs Python 3.10 or newer on PATH (or set PYTHON)}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.greenbump-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[test]'
  touch "$stamp"
fi
# pdm for the relock tests, in an environment of its own: its "locked" extra pins its
# dependencies, which need not agree with greenbump's or Poetry's. Without it those tests skip.
if [ ! -x .venv-pdm/bin/pdm ]; then
  { "$PYTHON" -m venv .venv-pdm &&
    .venv-pdm/bin/python -m pip install --quiet 'pdm[locked]>=2,<3'; } ||
    echo "could not install pdm into .venv-pdm: the pdm relock tests will be skipped" >&2
fi
# pipenv for the Pipfile.lock relock tests, likewise in its own environment (the range is
# greenbump's PIPENV_REQUIREMENT). Without it those tests skip.
if [ ! -x .venv-pipenv/bin/pipenv ]; then
  { "$PYTHON" -m venv .venv-pipenv &&
    .venv-pipenv/bin/python -m pip install --quiet 'pipenv>=2026,<2027'; } ||
    echo "could not install pipenv into .venv-pipenv: the pipenv relock tests will be skipped" >&2
fi
