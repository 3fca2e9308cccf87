#!/usr/bin/env bash
# make vulncheck: govulncheck over the whole module against a vulnerability
# database snapshot.
#
# Where the Go vulnerability database (https://vuln.go.dev) cannot be
# reached — a build machine that only reaches the Go module proxy, like
# ours — the snapshot is built from the golang.org/x/vulndb module, which
# the proxy serves with every OSV report (data/osv), by vulndb's own
# indexdb command, into a cache directory. A site pins a newer snapshot with
# VULNDB_VERSION, or points VULNDB at its own mirror (a directory in the
# vuln.go.dev layout, or https://vuln.go.dev where it is reachable).
#
# Exit status: govulncheck's — 0 nothing found, 3 vulnerabilities that the
# code reaches (the report says which, and the fixed versions).
set -euo pipefail
cd "$(dirname "$0")/.."
GOVULNCHECK_VERSION=${GOVULNCHECK_VERSION:-v1.9.0}
VULNDB_VERSION=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
if [ -z "${VULNDB:-}" ]; then
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/kortstation/vulndb-$VULNDB_VERSION
	if [ ! -f "$cache/index/db.json" ]; then
		echo "vulncheck: building the vulnerability database snapshot $VULNDB_VERSION (golang.org/x/vulndb) into $cache"
		src=$(go mod download -json "golang.org/x/vulndb@$VULNDB_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
		[ -d "$src/data/osv" ] || { echo "vulncheck: no OSV reports in golang.org/x/vulndb@$VULNDB_VERSION" >&2; exit 1; }
		rm -rf "$cache.tmp" && mkdir -p "$(dirname "$cache")"
		GOFLAGS=-mod=mod go run "golang.org/x/vulndb/cmd/indexdb@$VULNDB_VERSION" -vulns "$src/data/osv" -out "$cache.tmp"
		rm -rf "$cache" && mv "$cache.tmp" "$cache"
	fi
	VULNDB=file://$cache
fi
echo "vulncheck: govulncheck $GOVULNCHECK_VERSION against $VULNDB"
exec go run "golang.org/x/vuln/cmd/govulncheck@$GOVULNCHECK_VERSION" -db "$VULNDB" ./...
