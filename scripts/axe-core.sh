#!/usr/bin/env bash
# Prints the path of axe-core's axe.min.js (the accessibility engine the
# browser tests inject, kiosk/e2e/browsertest/axe.go), installing the pinned
# version from the npm registry into a cache folder when it is missing.
# Nothing is installed into the repository (no node_modules is committed).
#   KORTSTATION_CACHE  the cache folder (default ~/.cache/kortstation)
set -euo pipefail

version=4.14.1
dir="${KORTSTATION_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kortstation}/axe-core-$version"
file="$dir/node_modules/axe-core/axe.min.js"
if [ ! -s "$file" ]; then
  if ! command -v npm >/dev/null; then
    echo "npm is missing: run \`make test-deps\` as root (apt-get install -y npm)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  npm install --silent --no-audit --no-fund --no-save --prefix "$dir" "axe-core@$version" >&2
fi
echo "$file"
