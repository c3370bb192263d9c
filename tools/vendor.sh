#!/usr/bin/env bash
# vendor.sh: the front-end libraries the chat page loads only when an answer
# needs them (code highlighting: highlight.js; math: KaTeX). Installs the
# versions pinned in tools/vendor/package-lock.json with `npm ci` and copies
# the few files served into www/vendor/ (git-ignored, served by lighttpd from
# our own origin). Quiet, and does nothing when www/vendor/ already matches
# the lockfile.
#
#   tools/vendor.sh          (make vendor; make run and make test call it)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
src=$root/tools/vendor
out=$root/www/vendor
stamp=$out/.lock-sha256

want=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
command -v npm >/dev/null || {
  echo "vendor: npm is missing; run tools/install-deps.sh (Debian's nodejs and npm)" >&2
  exit 1
}
echo "vendor: npm ci (highlight.js, KaTeX) into www/vendor/" >&2
(cd "$src" && npm ci --no-audit --no-fund --loglevel=error --ignore-scripts >/dev/null) || {
  echo "vendor: npm ci failed in tools/vendor; is the npm registry reachable?" >&2
  exit 1
}
tmp=$out.tmp
rm -rf "$tmp"
mkdir -p "$tmp/fonts"
cp "$src/node_modules/@highlightjs/cdn-assets/es/highlight.min.js" "$tmp/highlight.min.js"
cp "$src/node_modules/@highlightjs/cdn-assets/LICENSE" "$tmp/highlight.LICENSE.txt"
cp "$src/node_modules/katex/dist/katex.min.js" "$src/node_modules/katex/dist/katex.min.css" "$tmp/"
cp "$src/node_modules/katex/LICENSE" "$tmp/katex.LICENSE.txt"
# Browsers that run the chat page all read woff2; the .woff and .ttf
# fallbacks named in katex.min.css are never fetched.
cp "$src/node_modules/katex/dist/fonts/"*.woff2 "$tmp/fonts/"
echo "$want" >"$tmp/.lock-sha256"
rm -rf "$out"
mv "$tmp" "$out"
