#!/usr/bin/env bash
# Run greenbump's main job on the example application shipped in examples/app.
source "$(dirname "$0")/_venv.sh"
.venv/bin/greenbump deps examples/app "$@"
