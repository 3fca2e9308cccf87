# The registry's Debian package for central IT (docs/registry-operations.md).
# Included from the top-level Makefile after images/appliance.mk, whose cross
# builds it uses.

.PHONY: deb-registryd

## deb-registryd: bin/deb/registryd_<version>_{amd64,arm64}.deb
deb-registryd: cross cross-amd64
	sync/registryd/deb/build-deb.sh -a arm64 -v '$(DEB_VERSION)' -b $(BIN)/linux-arm64 -o $(BIN)/deb
	sync/registryd/deb/build-deb.sh -a amd64 -v '$(DEB_VERSION)' -b $(BIN)/linux-amd64 -o $(BIN)/deb
