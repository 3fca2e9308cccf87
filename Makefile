# Kortstation — the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/kortstation/kortstation/kiosk/version.Version=$(VERSION)
BIN     := bin
export CGO_ENABLED := 1

.PHONY: all build run test test-deps build-deps lint bench fuzz vulncheck clean

all: build

build-deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test
	@scripts/install-deps.sh appliance

## build: compile kioskd into bin/
build: build-deps
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/kioskd ./kiosk/cmd/kioskd

## run: build and start the station on its development settings (simulated
## hardware, embedded reference registry with demo data, data in ./var, UI
## on :8080 for any local browser). kioskd's own defaults are a production
## station's and fail closed, so every development setting is named here.
DEV_FLAGS := -simulation=true -reader sim -printer sim -drawer sim \
	-registry embedded -ui-auth none -require-clock-sync=false \
	-data-dir ./var -log-format text -update-window 00:00-24:00
run: build
	$(BIN)/kioskd $(DEV_FLAGS)

## test: install what the tests need, then every test with the race detector
## (the registry's and the sync client's once more with the registry on PostgreSQL)
test: test-deps lint
	$(GO) test -race -count=1 -timeout 30m ./...
	KORTSTATION_TEST_REGISTRY_DB=postgres $(GO) test -race -count=1 -timeout 10m ./sync/registry/ ./sync/client/reconcile/
	scripts/fuzz.sh 20000x

## lint: gofmt and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## soak: the long crash campaigns of docs/reliability.md: kioskd killed
## with SIGKILL (SOAK_RUNS times) and its data partition cut off as in a
## power cut (POWERCUT_RUNS times) at random points of issuances,
## extensions, returns and syncs (make test runs short campaigns; as root)
.PHONY: soak
SOAK_RUNS ?= 300
POWERCUT_RUNS ?= 100
soak: test-deps
	KORT_CRASH_RUNS=$(SOAK_RUNS) KORT_POWERCUT_RUNS=$(POWERCUT_RUNS) $(GO) test -count=1 -timeout 120m -v -run 'TestCrashCampaign|TestPowerCut' ./kiosk/crashtest/

## bench: the performance numbers in docs/benchmarks.md
bench: build test-deps
	scripts/bench.sh

## fuzz: longer fuzz runs (make test runs each target's seeds)
FUZZTIME ?= 1000000x
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## vulncheck: govulncheck against a vulnerability database snapshot built
## from the Go module proxy (scripts/vulncheck.sh says how a site runs it)
vulncheck:
	scripts/vulncheck.sh

clean:
	rm -rf $(BIN)

# The appliance: make cross, make deb, make rootfs-check, make image.
include images/appliance.mk

# The registry for central IT: make deb-registryd.
include sync/registryd/package.mk
