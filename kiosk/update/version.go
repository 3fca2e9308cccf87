package update

import (
	"os"
	"regexp"
	"strings"
)

// DebianVersion is a build's version (git describe: v1.2.3, v1.2.3-4-gabc,
// abc1234-dirty, dev) in the Debian form the package and the image carry
// and the registry's releases are named by: images/appliance.mk's
// DEB_VERSION rule (a leading v before a digit dropped, 0~ before a
// version that does not start with a number, - and _ as +).
func DebianVersion(v string) string {
	if len(v) > 1 && v[0] == 'v' && v[1] >= '0' && v[1] <= '9' {
		v = v[1:]
	}
	if !leadingNumber.MatchString(v) {
		v = "0~" + v
	}
	return strings.NewReplacer("-", "+", "_", "+").Replace(v)
}

var leadingNumber = regexp.MustCompile(`^[0-9]+\.`)

// RunningVersion is the version of the station software in the booted
// slot: VERSION= of the release file (/etc/kortstation-release on the
// image), else the build's version in Debian form.
func RunningVersion(releaseFile, build string) string {
	if b, err := os.ReadFile(releaseFile); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VERSION="); ok {
				if v = strings.Trim(strings.TrimSpace(v), `"`); v != "" {
					return v
				}
			}
		}
	}
	return DebianVersion(build)
}
