#!/usr/bin/env bash
# Builds a signed RAUC bundle of the station's root file system (and the
# boot slot's firmware, kernel and initrd, when given):
#   images/rauc/build-bundle.sh -r ROOT.ext4 [-b BOOT.vfat] -V VERSION \
#       -k SIGNING_KEY -c SIGNING_CERT [-K KEYRING] [-f verity|plain] -o OUT.raucb
# VERSION is the Debian version of the station software in the root; a
# station refuses a bundle whose version is not above the one it runs
# (rauc-pre-install). verity is the format for stations; plain exists
# because build and CI machines have no device-mapper to install verity
# bundles with (the tests install plain bundles built by this script).
# With -K the bundle is checked against that keyring after signing.
set -euo pipefail
usage() { echo "usage: $0 -r ROOT.ext4 [-b BOOT.vfat] -V VERSION -k KEY -c CERT [-K KEYRING] [-f verity|plain] -o OUT.raucb" >&2; exit 2; }
root= boot= version= key= cert= keyring= format=verity out=
while getopts r:b:V:k:c:K:f:o: opt; do
	case $opt in
	r) root=$OPTARG ;; b) boot=$OPTARG ;; V) version=$OPTARG ;;
	k) key=$OPTARG ;; c) cert=$OPTARG ;; K) keyring=$OPTARG ;;
	f) format=$OPTARG ;; o) out=$OPTARG ;; *) usage ;;
	esac
done
[ -n "$root" ] && [ -n "$version" ] && [ -n "$key" ] && [ -n "$cert" ] && [ -n "$out" ] || usage
case $format in verity|plain) ;; *) echo "build-bundle: format must be verity or plain, not $format" >&2; exit 2 ;; esac
# A version goes into the manifest and the downgrade check: Debian syntax only.
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || { echo "build-bundle: version $version is not a Debian version" >&2; exit 2; }
for f in "$root" "$key" "$cert" ${boot:+"$boot"}; do
	[ -r "$f" ] || { echo "build-bundle: cannot read $f" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/kortstation-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
dir=$work/content
mkdir -p "$dir"
cp --sparse=always "$root" "$dir/root.ext4"
{
	echo "[update]"
	echo "compatible=kortstation-rpi4"
	echo "version=$version"
	echo "description=Kortstation $version"
	echo "build=$(date -u +%Y%m%dT%H%M%SZ)"
	echo
	echo "[bundle]"
	echo "format=$format"
	echo
	echo "[image.rootfs]"
	echo "filename=root.ext4"
	if [ -n "$boot" ]; then
		cp "$boot" "$dir/boot.vfat"
		echo
		echo "[image.boot]"
		echo "filename=boot.vfat"
	fi
} > "$dir/manifest.raucm"

mkdir -p "$(dirname "$out")"
rm -f "$out" # rauc bundle will not overwrite a file
rauc bundle --cert="$cert" --key="$key" ${keyring:+--keyring="$keyring"} "$dir" "$out" >"$work/rauc.log" 2>&1 ||
	{ cat "$work/rauc.log" >&2; exit 1; }
if [ -n "$keyring" ]; then
	rauc info --keyring="$keyring" "$out" >"$work/info.log" 2>&1 || { cat "$work/info.log" >&2; exit 1; }
fi
echo "$out"
