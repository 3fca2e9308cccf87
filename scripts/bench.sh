#!/usr/bin/env bash
# Runs every performance measurement behind docs/benchmarks.md and prints
# the raw numbers. The machine is shared and noisy: read medians, compare
# ratios, and run it twice before believing a change.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
out=${BENCH_OUT:-test-artifacts/bench}
mkdir -p "$out"

echo "== kioskd start-to-serving and idle RSS (issue 2)"
go build -o "$out/kioskbench" ./kiosk/cmd/kioskbench
"$out/kioskbench" -bin bin/kioskd -runs 21 | tee "$out/kioskd.txt"

bench() { # package regexp
  echo "== go test -bench '$2' $1"
  go test -run '^$' -bench "$2" -benchmem -count "$COUNT" "$1" | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
}
: > "$out/go-bench.txt"
bench ./kiosk/store/ 'RawInsert|StoreWrite|DurableCommit'

echo "== hardware (issue 4): card insertion → bus event latency, APDU round trip, print job, PDF render"
go test -run '^$' -bench 'InsertEvent' -benchtime 30x -count 3 ./hw/cardreader/pcsc/ | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
bench ./hw/cardreader/pcsc/ 'APDURoundTrip|ReadCard'
go test -run '^$' -bench 'PrintReceipt' -benchtime 30x -count 3 ./hw/printer/ipp/ | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
bench ./kiosk/receiptpdf/ 'RenderReceipt'
bench ./hw/drawer/ 'EdgeToEvent'

echo "== sync (issue 6): 100k backlog push over mTLS, empty pull, 1000 stations"
go test -run '^$' -bench 'Push100k' -benchtime 1x -count 3 ./sync/client/reconcile | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
go test -run '^$' -bench 'EmptyPull' -benchtime 2000x -count 3 ./sync/client/reconcile | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
go test -run '^$' -bench '1000Stations' -benchtime 1x -count 3 ./sync/registry | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'

echo "== central console (issue 14): search and a yearly report over 1,000,000 issuances"
go test -run '^$' -bench 'Search1M|YearlyReport1M' -benchtime 300x -v ./sync/registry | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|by field|: p50|^ok'
echo "== registry on PostgreSQL (issue 17): 10,000 stations, SQLite vs two instances on PostgreSQL; 100k backlog push on PostgreSQL"
go test -run '^$' -bench '10000Stations' -benchtime 1x -count 1 -timeout 30m ./sync/registry | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
KORTSTATION_TEST_REGISTRY_DB=postgres go test -run '^$' -bench 'Push100k' -benchtime 1x -count 3 ./sync/client/reconcile | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
for db in sqlite postgres; do # the registry's share of a backlog push (Server.Store of 2,000-event batches)
  KORTSTATION_TEST_REGISTRY_DB=$db go test -run '^$' -bench 'StoreBatch' -benchtime 25x -count 3 ./sync/registry | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
done

echo "== station flows (issue 5): card insertion → DOM in Chromium, server share, one full issuance"
go test -run '^$' -bench 'CardInsertToDOM|CardEventToWebsocket' -benchtime 300x -count 3 ./kiosk/e2e/ | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
go test -run '^$' -bench 'Issuance' -benchtime 100x -count 3 ./kiosk/counter/ | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'

echo "== card identity (issue 11): Verify with a CRL of 100,000 serials, RSA 2048 and ECDSA P-256 chains"
go test -run '^$' -bench 'Verify' -benchtime 1000x -count "$COUNT" ./kiosk/trust/ | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'
go test -run '^$' -bench 'LoginProof' -benchtime 200x -count 3 ./kiosk/counter/ | tee -a "$out/go-bench.txt" | grep -E '^Benchmark|^ok'

echo "== issuance rules (issue 3)"
bench ./kiosk/rules/ 'IssueReserve'

echo "== ratios (median ns/op)"
median() { # benchmark name → median ns/op in go-bench.txt
  grep -E "^$1-[0-9]+ " "$out/go-bench.txt" | awk '{print $3}' | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'
}
raw=$(median BenchmarkRawInsert); sw=$(median BenchmarkStoreWrite); full=$(median BenchmarkDurableCommit)
awk -v r="$raw" -v s="$sw" -v f="$full" 'BEGIN {
  printf "Store.Write / raw INSERT: %.2fx\n", s/r
  printf "full record (row + audit + outbox) / raw INSERT: %.2fx\n", f/r
}'
