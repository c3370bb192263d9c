#!/usr/bin/env bash
# lint-workflows.sh: checks the GitHub workflows against GitHub's workflow
# schema with @action-validator/cli (pinned by tools/workflow-lint's
# package-lock.json, run on Debian's node) and with yamllint's rules.
# `make lint` runs it; it installs node, npm and yamllint when missing.
#
#   tools/lint-workflows.sh [FILE...]      default: .github/workflows/*.yml
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
pkg=tools/workflow-lint
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(.github/workflows/*.yml)

if ! command -v node >/dev/null || ! command -v npm >/dev/null || ! command -v yamllint >/dev/null; then
  AIFACADE_DEPS=workflow tools/install-deps.sh
fi
if [ ! -x "$pkg/node_modules/.bin/action-validator" ]; then
  echo "lint-workflows: npm ci in $pkg (@action-validator/cli)" >&2
  (cd "$pkg" && npm ci --no-audit --no-fund --loglevel=error) >&2 ||
    { echo "lint-workflows: npm ci failed in $pkg; is the npm registry reachable?" >&2; exit 1; }
fi

rc=0
for f in "${files[@]}"; do
  if ! "$pkg/node_modules/.bin/action-validator" "$f"; then
    echo "lint-workflows: $f does not follow GitHub's workflow schema (the errors above name the path)" >&2
    rc=1
  fi
done
yamllint -s "${files[@]}" || rc=1
[ "$rc" -ne 0 ] || echo "lint-workflows: ${#files[@]} workflow files pass"
exit "$rc"
