# The appliance: arm64 cross builds, the Debian package and the Raspberry Pi
# image. Included from the top-level Makefile (include images/appliance.mk),
# which defines GO, VERSION, LDFLAGS and BIN. Try it standalone with
#   make -f Makefile -f images/appliance.mk cross
#
#   make cross         bin/linux-arm64/kioskd (and registryd) with cgo
#   make deb           bin/deb/kortstation_<version>_{arm64,amd64}.deb
#   make rootfs-check  the CI-sized image check (also run by `make test`)
#   make image         bin/image/kortstation-<version>-rpi-arm64.img + layout test

GO      ?= go
BIN     ?= bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS ?= -X github.com/kortstation/kortstation/kiosk/version.Version=$(VERSION)

# Debian versions must start with a digit: v1.2.3-4-gabc → 1.2.3+4+gabc,
# a bare commit id or "dev" → 0~<id>.
DEB_VERSION ?= $(shell echo '$(VERSION)' | sed -E 's/^v([0-9])/\1/; /^[0-9]+\./!s/^/0~/; s/[-_]/+/g')
# Where cached Debian roots and downloaded packages live between runs.
APPLIANCE_CACHE ?= $(HOME)/.cache/kortstation-appliance

# The commands the appliance ships (the station package holds kioskd and
# kortstation-provision); registryd, the reference registry, is cross-built
# too once it exists, for a registry on a Pi, but not packaged.
APPLIANCE_CMDS := kiosk/cmd/kioskd images/cmd/kortstation-provision \
	$(if $(wildcard sync/cmd/registryd/*.go),sync/cmd/registryd)

CROSS_ENV_arm64 := CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
CROSS_ENV_amd64 := CGO_ENABLED=1 GOOS=linux GOARCH=amd64

.PHONY: appliance-deps image-deps cross cross-amd64 deb rootfs-check image

appliance-deps:
	@scripts/install-deps.sh appliance

image-deps:
	@scripts/install-deps.sh image

## cross: kioskd (and registryd) for linux/arm64, cgo with Debian's cross toolchain
cross: appliance-deps
	@for c in $(APPLIANCE_CMDS); do \
	  echo "cross: $$c -> $(BIN)/linux-arm64/$$(basename $$c)"; \
	  $(CROSS_ENV_arm64) $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
	    -o $(BIN)/linux-arm64/$$(basename $$c) ./$$c || exit 1; \
	done

cross-amd64: appliance-deps
	@for c in $(APPLIANCE_CMDS); do \
	  $(CROSS_ENV_amd64) $(GO) build -trimpath -ldflags "$(LDFLAGS)" \
	    -o $(BIN)/linux-amd64/$$(basename $$c) ./$$c || exit 1; \
	done

## deb: the kortstation Debian package for arm64 (the Pi) and amd64 (any Debian 12 box)
deb: cross cross-amd64
	images/deb/build-deb.sh -a arm64 -v '$(DEB_VERSION)' -b $(BIN)/linux-arm64 -o $(BIN)/deb
	images/deb/build-deb.sh -a amd64 -v '$(DEB_VERSION)' -b $(BIN)/linux-amd64 -o $(BIN)/deb

## rootfs-check: the CI-sized image check: an arm64 root with our package
## builds and holds the binary, units and config. `go test ./images/` (so
## `make test`) runs it too; the test builds the packages itself.
rootfs-check: appliance-deps
	KORTSTATION_CACHE=$(APPLIANCE_CACHE) \
	  $(GO) test -count=1 -timeout 30m -run 'TestRootfs' -v ./images/

## image: the bootable Raspberry Pi image, then its layout test
image: image-deps deb
	images/build-image.sh -d $(BIN)/deb/kortstation_$(DEB_VERSION)_arm64.deb \
	  -o $(BIN)/image/kortstation-$(DEB_VERSION)-rpi-arm64.img -c $(APPLIANCE_CACHE)
	KORTSTATION_IMAGE=$(CURDIR)/$(BIN)/image/kortstation-$(DEB_VERSION)-rpi-arm64.img \
	  $(GO) test -tags imagetest -count=1 -timeout 10m -run 'TestImageLayout' -v ./images/
