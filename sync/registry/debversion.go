package registry

// Debian version strings (deb-version(7)), as the station software's
// releases are numbered (/etc/kortstation-release): [epoch:]upstream[-revision],
// compared the way dpkg compares them, so the registry and the station's
// installer (images/rauc: "not above the running one") agree on what is a
// downgrade.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrVersion: not a Debian version string.
var ErrVersion = errors.New("not a Debian version")

// maxVersionLen bounds a version string (what a station reports too).
const maxVersionLen = 128

type debVersion struct {
	epoch              int
	upstream, revision string
}

// parseDebVersion splits v into its parts; strict checks the syntax of
// deb-version(7) (a release's version), otherwise any string up to
// maxVersionLen splits as dpkg would (a version a station reports).
func parseDebVersion(v string, strict bool) (debVersion, error) {
	var d debVersion
	if v == "" || len(v) > maxVersionLen {
		return d, fmt.Errorf("%w: %q: empty or longer than %d characters", ErrVersion, v, maxVersionLen)
	}
	rest := v
	if e, r, ok := strings.Cut(v, ":"); ok {
		n, err := strconv.Atoi(e)
		if err != nil || n < 0 || e == "" || strings.TrimLeft(e, "0123456789") != "" {
			return d, fmt.Errorf("%w: %q: the epoch is not a number", ErrVersion, v)
		}
		d.epoch, rest = n, r
	}
	d.upstream = rest
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		d.upstream, d.revision = rest[:i], rest[i+1:]
		if strict && d.revision == "" {
			return d, fmt.Errorf("%w: %q: empty revision", ErrVersion, v)
		}
	}
	if !strict {
		return d, nil
	}
	if d.upstream == "" || d.upstream[0] < '0' || d.upstream[0] > '9' {
		return d, fmt.Errorf("%w: %q: the upstream version must start with a digit", ErrVersion, v)
	}
	for _, c := range d.upstream {
		if !isAlnum(c) && !strings.ContainsRune(".+~-:", c) {
			return d, fmt.Errorf("%w: %q: character %q not allowed", ErrVersion, v, c)
		}
	}
	for _, c := range d.revision {
		if !isAlnum(c) && !strings.ContainsRune(".+~", c) {
			return d, fmt.Errorf("%w: %q: character %q not allowed in the revision", ErrVersion, v, c)
		}
	}
	return d, nil
}

func isAlnum(c rune) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ValidVersion checks that v is a Debian version string (deb-version(7)).
func ValidVersion(v string) error {
	_, err := parseDebVersion(v, true)
	return err
}

// CompareVersions compares two Debian version strings as dpkg does
// (dpkg --compare-versions): negative when a < b, 0 when equal, positive
// when a > b. Strings that are not strictly valid are compared the same
// way, part by part.
func CompareVersions(a, b string) int {
	va, _ := parseDebVersion(a, false)
	vb, _ := parseDebVersion(b, false)
	if va.epoch != vb.epoch {
		if va.epoch < vb.epoch {
			return -1
		}
		return 1
	}
	if c := verrevcmp(va.upstream, vb.upstream); c != 0 {
		return sign(c)
	}
	return sign(verrevcmp(va.revision, vb.revision))
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// order is dpkg's weight of a non-digit character: '~' before the end,
// the end before letters, letters before everything else.
func order(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	case c != 0:
		return int(c) + 256
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// verrevcmp is dpkg's lib/dpkg/version.c verrevcmp: alternating runs of
// non-digits (compared by order) and digits (compared as numbers).
func verrevcmp(a, b string) int {
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		firstDiff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := order(at(a, i)), order(at(b, j))
			if ac != bc {
				return ac - bc
			}
			i++
			j++
		}
		for at(a, i) == '0' {
			i++
		}
		for at(b, j) == '0' {
			j++
		}
		for isDigit(at(a, i)) && isDigit(at(b, j)) {
			if firstDiff == 0 {
				firstDiff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if isDigit(at(a, i)) {
			return 1
		}
		if isDigit(at(b, j)) {
			return -1
		}
		if firstDiff != 0 {
			return firstDiff
		}
	}
	return 0
}
