package store_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
)

func auditStore(t *testing.T, entries int) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"), store.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := &clock.Fixed{T: time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)}
	for i := 0; i < entries; i++ {
		err := st.Update(context.Background(), clk, func(tx *store.Tx) error {
			_, err := tx.Audit(context.Background(), audit.Entry{
				Kind: "card.state", Actor: "SE2321000131-P000000000001", Subject: "R-1000" + string(rune('0'+i)),
				Detail: map[string]any{"to": "handed_out", "n": i},
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Minute)
	}
	return st
}

// raw runs SQL as an attacker with the file would: with the append-only
// triggers out of the way.
func rawAttack(t *testing.T, st *store.Store, q string) {
	t.Helper()
	err := st.Write(context.Background(), func(tx *sql.Tx) error {
		for _, stmt := range []string{"DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete", q} {
			if _, err := tx.Exec(stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestVerifyIntactChain(t *testing.T) {
	st := auditStore(t, 5)
	res, err := st.VerifyAudit(context.Background())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if res.Entries != 5 || len(res.Head) != 64 {
		t.Errorf("got %+v, want 5 entries and a SHA-256 head", res)
	}
}

func TestVerifyEmptyChain(t *testing.T) {
	st := auditStore(t, 0)
	if res, err := st.VerifyAudit(context.Background()); err != nil || res.Entries != 0 {
		t.Fatalf("got %+v, %v; want 0 entries, no error", res, err)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name    string
		attack  string
		wantSeq int64
		reason  string
	}{
		{"altered detail", `UPDATE audit_log SET detail = '{"to":"returned"}' WHERE seq = 3`, 3, "altered"},
		{"altered actor", `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 1`, 1, "altered"},
		{"re-hashed entry breaks the next link", `UPDATE audit_log SET hash = '` + strings.Repeat("a", 64) + `' WHERE seq = 2`, 2, "altered"},
		{"deleted middle row", `DELETE FROM audit_log WHERE seq = 3`, 3, "missing"},
		{"deleted first row", `DELETE FROM audit_log WHERE seq = 1`, 1, "missing"},
		{"truncated tail", `DELETE FROM audit_log WHERE seq >= 4`, 4, "tail cut off"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := auditStore(t, 5)
			rawAttack(t, st, c.attack)
			_, err := st.VerifyAudit(context.Background())
			var be *audit.BreakError
			if !errors.As(err, &be) {
				t.Fatalf("Verify = %v, want *BreakError", err)
			}
			if be.Seq != c.wantSeq || !strings.Contains(be.Reason, c.reason) {
				t.Errorf("break at %d (%s), want at %d (%s)", be.Seq, be.Reason, c.wantSeq, c.reason)
			}
		})
	}
}

func TestAppendOnlyTriggers(t *testing.T) {
	st := auditStore(t, 2)
	for _, q := range []string{"UPDATE audit_log SET kind = 'x' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 2"} {
		err := st.Write(context.Background(), func(tx *sql.Tx) error { _, err := tx.Exec(q); return err })
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want append-only refusal", q, err)
		}
	}
}

func TestAppendRollsBackWithItsTransaction(t *testing.T) {
	st := auditStore(t, 1)
	boom := errors.New("the state change failed")
	err := st.Update(context.Background(), clock.System{}, func(tx *store.Tx) error {
		if _, err := tx.Audit(context.Background(), audit.Entry{Kind: "k", Actor: "a"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if res, err := st.VerifyAudit(context.Background()); err != nil || res.Entries != 1 {
		t.Fatalf("after rollback: %+v, %v; want 1 entry intact", res, err)
	}
}

func TestAppendNeedsKindAndActor(t *testing.T) {
	st := auditStore(t, 0)
	err := st.Update(context.Background(), clock.System{}, func(tx *store.Tx) error {
		_, err := tx.Audit(context.Background(), audit.Entry{Kind: "k"})
		return err
	})
	if err == nil {
		t.Fatal("Append without actor succeeded")
	}
}
