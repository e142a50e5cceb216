#!/usr/bin/env bash
# greenbump's main job on the example application: the app in examples/app is copied into a
# fresh git repository in a temp folder, then `greenbump upgrade` plans, resolves, tests and
# commits the upgrades on a new branch there, and the Markdown report is printed.
# Uses the package index from your pip/uv configuration (else pip's default).
source "$(dirname "$0")/_venv.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/greenbump-demo.XXXXXX")
cp -r examples/app "$work/app"
git -C "$work/app" init -q -b main
git -C "$work/app" add -A
git -C "$work/app" -c user.name=demo -c user.email=demo@localhost commit -qm "example app"
status=0
.venv/bin/greenbump upgrade "$work/app" --report "$work/report.md" --report "$work/report.json" \
  "$@" || status=$?
if [ -f "$work/report.md" ]; then
  printf '\n----- %s -----\n' "$work/report.md"
  cat "$work/report.md"
fi
printf '\nThe example repository is %s; greenbump left its main branch as it was:\n' "$work/app"
git -C "$work/app" branch --list
exit "$status"
