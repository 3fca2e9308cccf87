# The appliance: arm64 cross builds, the Debian package and the Raspberry Pi
# image. Included from the top-level Makefile (include images/appliance.mk),
# which defines GO, VERSION, LDFLAGS and BIN. Try it standalone with
#   make -f Makefile -f images/appliance.mk cross
#
#   make cross         bin/linux-arm64/kioskd (and registryd) with cgo
#   make deb           bin/deb/kortstation_<version>_{arm64,amd64}.deb
#   make rootfs-check  the CI-sized image check (also run by `make test`)
#   make image         bin/image/kortstation-<version>-rpi-arm64.img + layout test
#   make bundle        bin/bundle/kortstation-<version>.raucb: the signed update
#   make qemu-boot     boots that image three times under QEMU (minutes; not in make test)
#   make qemu-boot-pi  boots it twice on QEMU 10's Raspberry Pi 3 with its emulated OTP

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
APPLIANCE_CMDS := kiosk/cmd/kioskd images/cmd/kortstation-provision images/cmd/kortstation-unlock \
	$(if $(wildcard sync/cmd/registryd/*.go),sync/cmd/registryd)

CROSS_ENV_arm64 := CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc \
	PKG_CONFIG_LIBDIR=/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig
CROSS_ENV_amd64 := CGO_ENABLED=1 GOOS=linux GOARCH=amd64

.PHONY: appliance-deps image-deps bundle-deps boot-deps qemu-boot qemu-boot-pi cross cross-amd64 deb rootfs-check image bundle rauc-dev-keys

# The update signing keys (docs/appliance.md, "Key handling"). The image
# trusts RAUC_KEYRING (the update CA); bundles are signed with RAUC_KEY and
# RAUC_CERT (a certificate that CA issued). Unset, a development CA is made
# once in $(BIN)/rauc-dev-keys: fine for a test bench, never for stations.
RAUC_DEV_KEYS := $(BIN)/rauc-dev-keys
RAUC_KEYRING  ?= $(RAUC_DEV_KEYS)/ca.cert.pem
RAUC_KEY      ?= $(RAUC_DEV_KEYS)/signing.key.pem
RAUC_CERT     ?= $(RAUC_DEV_KEYS)/signing.cert.pem
# verity for stations; plain for machines without device-mapper (tests).
BUNDLE_FORMAT ?= verity
IMAGE_BASE    := $(BIN)/image/kortstation-$(DEB_VERSION)
# The file systems the bundle carries: those `make image` built, unless given.
ROOT_EXT4     ?= $(IMAGE_BASE)-root.ext4
BOOT_VFAT     ?= $(IMAGE_BASE)-boot.vfat

appliance-deps:
	@scripts/install-deps.sh appliance

image-deps:
	@scripts/install-deps.sh image

bundle-deps:
	@scripts/install-deps.sh bundle

boot-deps:
	@scripts/install-deps.sh boot

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

## rauc-dev-keys: a throwaway update CA and signing key (development only)
rauc-dev-keys: $(RAUC_DEV_KEYS)/ca.cert.pem
$(RAUC_DEV_KEYS)/ca.cert.pem:
	@echo "rauc: making a DEVELOPMENT update CA in $(RAUC_DEV_KEYS) (not for stations)" >&2
	images/rauc/make-keys.sh $(RAUC_DEV_KEYS) "Kortstation development"

## image: the bootable Raspberry Pi image, then its layout test
image: image-deps deb $(if $(filter $(RAUC_DEV_KEYS)/%,$(RAUC_KEYRING)),rauc-dev-keys)
	images/build-image.sh -d $(BIN)/deb/kortstation_$(DEB_VERSION)_arm64.deb \
	  -o $(IMAGE_BASE)-rpi-arm64.img -c $(APPLIANCE_CACHE) \
	  -k $(RAUC_KEYRING) -V '$(DEB_VERSION)'
	KORTSTATION_IMAGE=$(CURDIR)/$(BIN)/image/kortstation-$(DEB_VERSION)-rpi-arm64.img \
	  $(GO) test -tags imagetest -count=1 -timeout 10m -run 'TestImageLayout' -v ./images/

## bundle: the signed RAUC update of the image's root and boot file systems
## (run `make image` first, or give ROOT_EXT4= and BOOT_VFAT=)
bundle: bundle-deps $(if $(filter $(RAUC_DEV_KEYS)/%,$(RAUC_KEY)),rauc-dev-keys)
	@[ -r '$(ROOT_EXT4)' ] || { echo "bundle: no $(ROOT_EXT4): run make image first (or set ROOT_EXT4=)" >&2; exit 1; }
	images/rauc/build-bundle.sh -r '$(ROOT_EXT4)' $(if $(wildcard $(BOOT_VFAT)),-b '$(BOOT_VFAT)') \
	  -V '$(DEB_VERSION)' -k '$(RAUC_KEY)' -c '$(RAUC_CERT)' -K '$(RAUC_KEYRING)' \
	  -f $(BUNDLE_FORMAT) -o $(BIN)/bundle/kortstation-$(DEB_VERSION).raucb

## qemu-boot: the image `make image` built, booted three times on QEMU's virt
## machine (images/qemu-boot.sh): first boot encrypts and mounts the data
## partition and kioskd starts; the second opens it; another machine's
## secret is refused with nothing written. Minutes under TCG emulation, so
## not part of `make test`. QEMU_BOOT_FLAGS=-p patches the copy for images
## built before the unlock's key source choice (see the script).
QEMU_BOOT_IMAGE ?= $(IMAGE_BASE)-rpi-arm64.img
QEMU_BOOT_FLAGS ?=
qemu-boot: boot-deps
	@[ -r '$(QEMU_BOOT_IMAGE)' ] || { echo "qemu-boot: no $(QEMU_BOOT_IMAGE): run make image first (or set QEMU_BOOT_IMAGE=)" >&2; exit 1; }
	nice -n 10 images/qemu-boot.sh $(QEMU_BOOT_FLAGS) '$(QEMU_BOOT_IMAGE)'

## qemu-boot-pi: the same image on QEMU 10's Raspberry Pi 3 (from
## bookworm-backports, built by images/qemu-root.sh into the appliance
## cache; the host's QEMU stays), whose emulated firmware has the OTP: a
## new Pi's first boot programs its OTP key through kortstation_otp and
## encrypts the data partition; the card in another Pi is refused with
## nothing programmed. Minutes; not part of `make test`.
QEMU10_ROOT ?= $(APPLIANCE_CACHE)/qemu10
qemu-boot-pi: boot-deps appliance-deps
	@[ -r '$(QEMU_BOOT_IMAGE)' ] || { echo "qemu-boot-pi: no $(QEMU_BOOT_IMAGE): run make image first (or set QEMU_BOOT_IMAGE=)" >&2; exit 1; }
	rm -rf '$(QEMU10_ROOT)'
	images/qemu-root.sh -o '$(QEMU10_ROOT)' -c '$(APPLIANCE_CACHE)' > '$(QEMU10_ROOT).cmd'
	nice -n 10 images/qemu-boot.sh -m raspi3b -Q "$$(cat '$(QEMU10_ROOT).cmd')" '$(QEMU_BOOT_IMAGE)'
