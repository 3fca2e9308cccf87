package update

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// metaState is the station_meta key of the latest update state, reported
// in every pull's status (protocol.StationStatus.Update).
const metaState = "update.state"

// SetState stores the latest update state in t.
func SetState(ctx context.Context, t *store.Tx, s protocol.UpdateState) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("update: state: %w", err)
	}
	return t.SetMeta(ctx, metaState, string(b))
}

// ReadState reads the latest update state; nil when there has been none.
func ReadState(ctx context.Context, st *store.Store) (*protocol.UpdateState, error) {
	v, err := st.Meta(ctx, metaState)
	if errors.Is(err, store.ErrNotFound) || v == "" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("update: state: %w", err)
	}
	var s protocol.UpdateState
	if err := json.Unmarshal([]byte(v), &s); err != nil {
		return nil, fmt.Errorf("update: state: %w", err)
	}
	return &s, nil
}

// RecordOutcome records the outcome left in path (by kortstation-health or
// the installer) exactly once: an audit entry, an update_result event for
// the registry and the latest update state, in one transaction; then the
// file is removed. An outcome already recorded (the file was read before,
// and its removal did not happen) is not recorded again. fallbackVersion
// names the version when the file does not (an installer's refusal: the
// agent knows what it handed over). ok is false when there was nothing new.
func RecordOutcome(ctx context.Context, st *store.Store, clk clock.Clock, stationID, path, fallbackVersion string) (o Outcome, ok bool, err error) {
	o, err = ReadOutcome(path)
	if errors.Is(err, ErrNoOutcome) {
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	if o.Version == "" {
		o.Version = fallbackVersion
	}
	p := o.Payload(clk.Now())
	err = st.Update(ctx, clk, func(t *store.Tx) error {
		var err error
		if ok, err = t.RecordUpdateResult(ctx, stationID, o.Key(), p); err != nil || !ok {
			return err
		}
		return SetState(ctx, t, protocol.UpdateState{State: p.Result, Version: p.Version, Reason: p.Reason, At: p.At})
	})
	if err != nil {
		return o, false, fmt.Errorf("update: record outcome: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return o, ok, fmt.Errorf("update: outcome recorded, but: %w", err)
	}
	return o, ok, nil
}

// RecordError records a download or install error that the station itself
// found (a bundle that does not match its offer, an installer that could
// not be handed the bundle): audit entry, update_result event and state.
func RecordError(ctx context.Context, st *store.Store, clk clock.Clock, stationID, result, version, reason string) error {
	p := protocol.UpdateResultPayload{Result: result, Version: version, Reason: plain(reason), At: clk.Now().UTC()}
	err := st.Update(ctx, clk, func(t *store.Tx) error {
		if _, err := t.RecordUpdateResult(ctx, stationID, "", p); err != nil {
			return err
		}
		return SetState(ctx, t, protocol.UpdateState{State: result, Version: version, Reason: p.Reason, At: p.At})
	})
	if err != nil {
		return fmt.Errorf("update: record %s: %w", result, err)
	}
	return nil
}

// plain keeps a reason short and on one line.
func plain(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

// BootedSlot is the RAUC slot the kernel was booted from (rauc.slot= on
// the kernel command line, e.g. /proc/cmdline); empty off the image.
func BootedSlot(cmdline string) string {
	b, err := os.ReadFile(cmdline)
	if err != nil {
		return ""
	}
	for _, f := range strings.Fields(string(b)) {
		if v, ok := strings.CutPrefix(f, "rauc.slot="); ok && slots[v] {
			return v
		}
	}
	return ""
}

// now is a small helper for state times.
func now(clk clock.Clock) time.Time { return clk.Now().UTC() }
