package store_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestBlockedComparesPrintedSerialsBL1(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := &clock.Fixed{T: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	err := st.Update(ctx, clk, func(tx *store.Tx) error {
		return tx.ReplaceBlockedCards(ctx, []protocol.BlockedCard{{Serial: "RK 000123", Reason: "stolen", BlockedAt: clk.T}})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, serial := range []string{"RK 000123", "rk000123", "RK-000-123"} {
		got, err := st.Blocked(ctx, serial)
		if err != nil || len(got) != 1 || got[0].Reason != "stolen" || !got[0].BlockedAt.Equal(clk.T) {
			t.Errorf("BL-1/Blocked(%q) = %+v, %v, want the stolen entry", serial, got, err)
		}
	}
	if got, err := st.Blocked(ctx, "RK 000124"); err != nil || len(got) != 0 {
		t.Errorf("BL-1/Blocked(another card) = %+v, %v, want none", got, err)
	}
	reg, err := st.Registry(ctx, rules.Person{}, "rk000123")
	if err != nil || len(reg.BlockedCards) != 1 {
		t.Errorf("BL-1/Registry blocked cards = %v, %v, want the listed card", reg.BlockedCards, err)
	}
}

// TestRecordVoidWritesRowAuditAndOutboxTogether: the card's state, its
// audit entry and its outbox event are one transaction — all or nothing.
func TestRecordVoidWritesRowAuditAndOutboxTogether(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	clk := &clock.Fixed{T: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	if err := st.Update(ctx, clk, func(tx *store.Tx) error {
		return tx.SeedStockCards(ctx, []store.DevStockCard{{Serial: "RK-1", Type: rules.CardReserve}}, clk.T)
	}); err != nil {
		t.Fatal(err)
	}
	card := rules.Card{Number: "RK-1", Type: rules.CardReserve, State: rules.StateInStock}
	sess := store.Session{Operator: "SE2321000131-P000000000011"}
	check := func(wantState rules.CardState, wantDepth, wantAudit int64) {
		t.Helper()
		c, err := st.Card(ctx, "RK-1")
		if err != nil || c.State != wantState {
			t.Errorf("card state: got %v (%v), want %v", c.State, err, wantState)
		}
		if d, err := st.OutboxDepth(ctx); err != nil || d != wantDepth {
			t.Errorf("outbox depth: got %d (%v), want %d", d, err, wantDepth)
		}
		if h, err := st.AuditHead(ctx); err != nil || h.Seq != wantAudit {
			t.Errorf("audit entries: got %d (%v), want %d", h.Seq, err, wantAudit)
		}
	}
	boom := errors.New("the caller failed after the record")
	err := st.Update(ctx, clk, func(tx *store.Tx) error {
		if err := tx.RecordVoid(ctx, card, "RC-8", sess, clk.T); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	check(rules.StateInStock, 0, 0)
	if err := st.Update(ctx, clk, func(tx *store.Tx) error { return tx.RecordVoid(ctx, card, "RC-8", sess, clk.T) }); err != nil {
		t.Fatal(err)
	}
	check(rules.StateVoided, 1, 1)
}
