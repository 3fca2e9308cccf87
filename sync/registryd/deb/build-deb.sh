#!/usr/bin/env bash
# Builds the registryd .deb from a prebuilt binary, without debhelper:
#   sync/registryd/deb/build-deb.sh -a arm64|amd64 -v DEBIAN_VERSION -b BINDIR -o OUTDIR
# BINDIR holds registryd for that architecture. Prints the package's path.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
arch= version= bindir= outdir=
while getopts a:v:b:o: opt; do
	case $opt in
	a) arch=$OPTARG ;;
	v) version=$OPTARG ;;
	b) bindir=$OPTARG ;;
	o) outdir=$OPTARG ;;
	*) echo "usage: $0 -a ARCH -v VERSION -b BINDIR -o OUTDIR" >&2; exit 2 ;;
	esac
done
[ -n "$arch" ] && [ -n "$version" ] && [ -n "$bindir" ] && [ -n "$outdir" ] ||
	{ echo "usage: $0 -a ARCH -v VERSION -b BINDIR -o OUTDIR" >&2; exit 2; }
[ -x "$bindir/registryd" ] || { echo "build-deb: missing $bindir/registryd" >&2; exit 1; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
inst() { install -D -m "$1" "$2" "$root/$3"; }
inst 0755 "$bindir/registryd" usr/bin/registryd
inst 0644 "$repo/systemd/registryd.service" lib/systemd/system/registryd.service
inst 0644 "$here/registryd.env" etc/registryd/registryd.env
inst 0644 "$repo/docs/registry-operations.md" usr/share/doc/registryd/registry-operations.md
inst 0644 "$repo/images/deb/copyright" usr/share/doc/registryd/copyright

mkdir -p "$root/DEBIAN"
for s in postinst prerm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done
echo /etc/registryd/registryd.env > "$root/DEBIAN/conffiles"

# glibc only (SQLite is compiled in): checked from the ELF header.
shlibs="libc6 (>= 2.34)"
if LC_ALL=C objdump -p "$bindir/registryd" 2>/dev/null | awk '/NEEDED/ {print $2}' | grep -qv '^libc\.so\|^libm\.so\|^libpthread\|^libdl\|^ld-linux\|^libresolv'; then
	echo "build-deb: registryd needs a shared library besides glibc" >&2; exit 1
fi
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" -e "s/@SHLIBS@/$shlibs/" \
	"$here/control.in" > "$root/DEBIAN/control"

mkdir -p "$outdir"
out="$outdir/registryd_${version}_${arch}.deb"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
