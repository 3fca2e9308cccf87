// Package clock tells the station the time and how far to trust it.
//
// A Raspberry Pi has no battery-backed clock: until NTP synchronises, the
// wall clock can be years off. Records carry the clock's Source so that
// ordering never depends on it (sequence numbers do) and so that a reader
// knows which times to doubt.
package clock

import (
	"os"
	"time"
)

// Sources of the wall clock.
const (
	SourceNTP      = "ntp"      // synchronised (systemd-timesyncd or chrony said so)
	SourceUnsynced = "unsynced" // not known to be synchronised
	SourceFixed    = "fixed"    // a test or simulation clock
)

// Clock is the station's view of time.
type Clock interface {
	Now() time.Time
	Source() string
}

// System is the machine's wall clock. It counts as synchronised when the
// kernel says so (adjtimex: STA_UNSYNC clear, as chrony and
// systemd-timesyncd leave it) or when SyncFile exists (systemd-timesyncd
// creates /run/systemd/timesync/synchronized).
type System struct {
	SyncFile string
}

// DefaultSyncFile is where systemd-timesyncd records synchronisation.
const DefaultSyncFile = "/run/systemd/timesync/synchronized"

// Now is time.Now.
func (System) Now() time.Time { return time.Now() }

// Source is SourceNTP when the clock is synchronised, else SourceUnsynced.
func (s System) Source() string {
	if kernelSynced() {
		return SourceNTP
	}
	f := s.SyncFile
	if f == "" {
		f = DefaultSyncFile
	}
	if _, err := os.Stat(f); err == nil {
		return SourceNTP
	}
	return SourceUnsynced
}

// Synced reports whether c's time can be trusted for validity dates.
func Synced(c Clock) bool { return c.Source() != SourceUnsynced }

// Fixed is a clock that says what it is told; tests and simulations use it.
type Fixed struct {
	T time.Time
}

// Now returns T.
func (f *Fixed) Now() time.Time { return f.T }

// Source is SourceFixed.
func (*Fixed) Source() string { return SourceFixed }

// Advance moves the clock forward by d.
func (f *Fixed) Advance(d time.Duration) { f.T = f.T.Add(d) }
