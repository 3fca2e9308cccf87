package update

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Outcome is an update's result as kortstation-health writes it
// (/var/lib/kortstation/update-result: key=value lines) after a trial
// boot: the slot committed, or rolled back and why; or as
// kortstation-update-spool writes it when the installer refused a bundle
// (install_error, with no slot: nothing was written to one).
type Outcome struct {
	Result  string // "committed", "rolled_back" or "install_error"
	Slot    string // the RAUC bootname of the new slot: "A" or "B"; empty for install_error
	Version string // the station version in that slot, as far as known
	Reason  string // "health check passed", "health check failed", "trial boot did not come up"
	At      string // when, UTC, as the writer's clock had it
}

// AuditKind is the audit log kind of an update outcome.
const AuditKind = store.AuditUpdate

// Key names the outcome: the same file read twice has the same key, so it
// is recorded once.
func (o Outcome) Key() string {
	return strings.Join([]string{o.Result, o.Slot, o.Version, o.Reason, o.At}, "|")
}

// Payload is the outcome as the event for the registry; now stands in for
// a missing or unreadable time.
func (o Outcome) Payload(now time.Time) protocol.UpdateResultPayload {
	at, err := time.Parse(time.RFC3339, o.At)
	if err != nil {
		at = now
	}
	return protocol.UpdateResultPayload{Result: o.Result, Version: o.Version, Slot: o.Slot, Reason: o.Reason, At: at.UTC()}
}

// ErrNoOutcome: no update outcome is waiting to be recorded.
var ErrNoOutcome = errors.New("update: no outcome recorded")

// The file is written by root and read by the station user: every value
// is checked, nothing else taken over.
var (
	safeValue = regexp.MustCompile(`^[A-Za-z0-9 .:+~_-]{0,80}$`)
	results   = map[string]bool{protocol.UpdateCommitted: true, protocol.UpdateRolledBack: true, protocol.UpdateInstallError: true}
	slots     = map[string]bool{"A": true, "B": true}
)

// ReadOutcome reads an outcome file; ErrNoOutcome when there is none.
func ReadOutcome(path string) (Outcome, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Outcome{}, ErrNoOutcome
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("update: read outcome: %w", err)
	}
	if len(b) > 4096 {
		return Outcome{}, fmt.Errorf("update: outcome file %s is %d bytes, too long", path, len(b))
	}
	var o Outcome
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if !safeValue.MatchString(v) {
			return Outcome{}, fmt.Errorf("update: outcome file %s: %s has characters that are not allowed", path, k)
		}
		switch k {
		case "result":
			o.Result = v
		case "slot":
			o.Slot = v
		case "version":
			o.Version = v
		case "reason":
			o.Reason = v
		case "at":
			o.At = v
		}
	}
	if !results[o.Result] || !(slots[o.Slot] || (o.Slot == "" && o.Result == protocol.UpdateInstallError)) {
		return Outcome{}, fmt.Errorf("update: outcome file %s: result %q slot %q not understood", path, o.Result, o.Slot)
	}
	return o, nil
}
