package update

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Outcome is an update's result as kortstation-health writes it
// (/var/lib/kortstation/update-result: key=value lines) after a trial
// boot: the slot committed, or rolled back and why.
type Outcome struct {
	Result  string // "committed" or "rolled_back"
	Slot    string // the RAUC bootname of the new slot: "A" or "B"
	Version string // the station version in that slot, as far as known
	Reason  string // "health check passed", "health check failed", "trial boot did not come up"
	At      string // when, UTC, as the writer's clock had it
}

// AuditKind is the audit log kind of an update outcome.
const AuditKind = "station.update"

// Detail is the outcome as audit detail.
func (o Outcome) Detail() map[string]any {
	return map[string]any{"result": o.Result, "slot": o.Slot, "version": o.Version, "reason": o.Reason, "at": o.At}
}

// ErrNoOutcome: no update outcome is waiting to be recorded.
var ErrNoOutcome = errors.New("update: no outcome recorded")

// The file is written by root and read by the station user: every value
// is checked, nothing else taken over.
var (
	safeValue = regexp.MustCompile(`^[A-Za-z0-9 .:+~_-]{0,80}$`)
	results   = map[string]bool{"committed": true, "rolled_back": true}
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
	if !results[o.Result] || !slots[o.Slot] {
		return Outcome{}, fmt.Errorf("update: outcome file %s: result %q slot %q not understood", path, o.Result, o.Slot)
	}
	return o, nil
}
