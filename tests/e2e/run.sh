#!/usr/bin/env bash
# run.sh: the browser tests. Drives Debian's headless Chromium with
# playwright-core against the stack named by BASE_URL (tests/run.sh e2e starts
# one with the fake AI provider) and prints TAP on stdout; everything else
# (npm, diagnostics) goes to stderr. Screenshots land in tests/artifacts/.
#
#   BASE_URL=https://localhost:PORT tests/e2e/run.sh
#
# DEPLOYED=1 (set by tests/run.sh when BASE_URL came from outside) skips the
# run: the tests steer the fake provider with [[fake:…]] markers in prompts,
# which a real provider would not honour.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ "${DEPLOYED:-0}" = 1 ]; then
  echo "1..0 # SKIP deployed"
  exit 0
fi

bail() { # reason: one failing TAP line, so the run counts as failed
  echo "1..1"
  echo "not ok 1 - e2e setup: $1"
  exit 1
}

[ -n "${BASE_URL:-}" ] || bail "BASE_URL is not set (run tests/run.sh e2e)"
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || bail "$CHROMIUM is missing: AIFACADE_DEPS=browser tools/install-deps.sh"
for tool in node npm; do
  command -v "$tool" >/dev/null || bail "$tool is missing: AIFACADE_DEPS=browser tools/install-deps.sh"
done

if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ ! -f "$here/node_modules/axe-core/axe.min.js" ]; then
  echo "e2e: npm ci (playwright-core and axe-core, no browser download)" >&2
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >&2 ||
    bail "npm ci failed in tests/e2e"
fi

# The page loads highlight.js and KaTeX from www/vendor/ (make vendor).
"$here/../../tools/vendor.sh" >&2 || bail "tools/vendor.sh failed (www/vendor/)"

export ARTIFACTS=${ARTIFACTS:-$(cd "$here/.." && pwd)/artifacts}
mkdir -p "$ARTIFACTS"
# The test file has a watchdog of its own and closes the browser on the way
# out; timeout is the last resort (SIGTERM lets playwright kill Chromium).
# Each *.test.mjs is a walk of its own (a fresh account and browser).
status=0
for walk in "$here"/chat.test.mjs "$here"/search.test.mjs "$here"/admin.test.mjs; do
  timeout -k 10 330 node "$walk" || status=1
done
exit $status
