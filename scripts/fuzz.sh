#!/usr/bin/env bash
# Runs every fuzz target for a budget of executions (default 1000000x each;
# `make test` runs a short 20000x pass). A count, not a duration: with
# -fuzztime=<duration> Go 1.26 can fail at the deadline without a crasher
# (golang/go#75804).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-1000000x}
grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u | while read -r dir; do
  for f in $(grep -h '^func Fuzz' "$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do
    echo "== $dir $f ($budget)"
    go test -run '^$' -fuzz "^$f\$" -fuzztime "$budget" "$dir"
  done
done
