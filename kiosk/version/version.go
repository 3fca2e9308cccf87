// Package version holds the build's version, stamped by the linker:
//
//	go build -ldflags "-X github.com/kortstation/kortstation/kiosk/version.Version=v1.2.3"
package version

import "runtime/debug"

// Version is set at build time; "dev" in an unstamped build.
var Version = "dev"

// String is the version with the VCS revision when the build recorded one.
func String() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}
