// Package rauc holds the Raspberry Pi image's A/B update parts and their
// tests: the RAUC system configuration (system.conf), the custom bootloader
// backend for the Pi firmware's tryboot (rauc-tryboot), the station's
// install handlers (rauc-pre-install: no downgrades; rauc-post-install: the
// boot slot's cmdline.txt), the post-boot health gate (kortstation-health),
// and the scripts that make signing keys and bundles (make-keys.sh,
// build-bundle.sh, called by `make bundle`).
//
// The tests install bundles built by `make bundle` with the real rauc
// service into loop-device slots, as root, on a private D-Bus; the boot
// firmware is the one thing they stand in for, by restarting the service
// with another booted slot. docs/appliance.md describes the update flow.
package rauc
