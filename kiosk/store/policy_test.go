package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// TestStationPolicyFailsClosed: without a policy from the registry the
// station applies the fail-closed default; a snapshot of one policy
// replaces it, an empty one removes it, and one of two policies is
// refused and changes nothing. Every change of what is allowed is audited.
func TestStationPolicyFailsClosed(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := &clock.Fixed{T: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	allow, forbid := protocol.StationPolicy{TypedAttestors: true}, protocol.StationPolicy{}
	steps := []struct {
		name        string
		items       []protocol.StationPolicy
		wantErr     error
		want        bool
		wantAudited int
	}{
		{"never synced", nil, nil, false, 0},
		{"forbidden, as before", []protocol.StationPolicy{forbid}, nil, false, 0},
		{"allowed", []protocol.StationPolicy{allow}, nil, true, 1},
		{"allowed again", []protocol.StationPolicy{allow}, nil, true, 1},
		{"two policies", []protocol.StationPolicy{forbid, allow}, store.ErrBadPolicy, true, 1},
		{"none", []protocol.StationPolicy{}, nil, false, 2},
	}
	for i, s := range steps {
		if i > 0 {
			err := st.Update(ctx, clk, func(tx *store.Tx) error { return tx.RecordStationPolicy(ctx, s.items, clk.Now()) })
			if !errors.Is(err, s.wantErr) {
				t.Errorf("%s: got error %v, want %v", s.name, err, s.wantErr)
			}
		}
		p, err := st.StationPolicy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.TypedAttestors != s.want {
			t.Errorf("%s: typed attestors got %v, want %v", s.name, p.TypedAttestors, s.want)
		}
		var audited int
		if err := st.Reader().QueryRow(`SELECT count(*) FROM audit_log WHERE kind = 'station.policy' AND actor = 'registry'`).Scan(&audited); err != nil {
			t.Fatal(err)
		}
		if audited != s.wantAudited {
			t.Errorf("%s: audit entries got %d, want %d", s.name, audited, s.wantAudited)
		}
	}
}
