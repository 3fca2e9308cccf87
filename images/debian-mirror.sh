#!/usr/bin/env bash
# Prints the Debian mirror apt is configured with for SUITE (default
# bookworm), e.g. http://deb.debian.org/debian/ — read from apt's own view of
# its sources (apt-get indextargets), so sources.list and deb822 .sources
# both count and no host is hard-coded. DEBIAN_MIRROR overrides.
#   images/debian-mirror.sh [SUITE]
set -euo pipefail
suite=${1:-bookworm}
if [ -n "${DEBIAN_MIRROR:-}" ] && [ "$suite" = bookworm ]; then
	echo "$DEBIAN_MIRROR"
	exit 0
fi
if [ -n "${DEBIAN_SECURITY_MIRROR:-}" ] && [ "$suite" = bookworm-security ]; then
	echo "$DEBIAN_SECURITY_MIRROR"
	exit 0
fi
m=$(apt-get indextargets --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' |
	awk -v s="$suite" '$1 == s { print $2; exit }')
if [ -z "$m" ]; then
	echo "debian-mirror: apt has no source for suite $suite (set DEBIAN_MIRROR, or run apt-get update)" >&2
	exit 1
fi
echo "$m"
