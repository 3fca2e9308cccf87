package registry_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// TestEmbedded starts the embedded registry as `make run` does, syncs the
// local station against it, restarts it on the same directory, and checks
// that no personal number reached a log line.
func TestEmbedded(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := registry.StartEmbedded(ctx, dir, log, registry.EmbeddedOptions{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Identity.Validate(clock.System{}.Now()); err != nil {
		t.Fatalf("embedded identity: %v", err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "station.db"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc, err := reconcile.New(reconcile.Config{Identity: e.Identity}, st, clock.System{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	pnr := registry.TestPersonalNumber("19121212", 121)
	if err := st.Update(ctx, clock.System{}, func(tx *store.Tx) error {
		_, err := tx.Enqueue(ctx, protocol.IssuancePayload{IssuanceID: "i1", CardSerial: "RK-E1", PersonalNumber: pnr, Reason: "forgotten"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Once(ctx); err != nil {
		t.Fatalf("sync with the embedded registry: %v", err)
	}
	rc.Close()
	if err := refdata.DefaultPolicy().Check(ctx, st, clock.System{}.Now(), protocol.RefKinds...); err != nil {
		t.Errorf("after the first sync: %v", err)
	}
	table, err := st.ValidityTable(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for reason, want := range map[rules.Reason]int{"forgotten": 10, "stolen": 30, "lost": 30, "broken": 30, "damaged": 30, "waiting_for_new_card": 30, "temporary_assignment": 100} {
		if got := table[reason]; got != want {
			t.Errorf("RC-1/%s: got %d days, want %d", reason, got, want)
		}
	}
	admins, err := st.AuthorisedAdmins(ctx)
	if err != nil || !slices.ContainsFunc(admins, func(h ident.HSAID) bool { return h.String() == "SE2321000131-P000000012345" }) {
		t.Errorf("AD-1: seeded administrator not authorised: %v, %v", admins, err)
	}
	var shipped int
	_ = st.Reader().QueryRow(`SELECT count(*) FROM ref_shipments`).Scan(&shipped)
	if shipped == 0 {
		t.Error("no reserve-card shipment for the local station")
	}
	certBefore, _ := os.ReadFile(e.Identity.CertFile)
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e2, err := registry.StartEmbedded(ctx, dir, log, registry.EmbeddedOptions{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	certAfter, _ := os.ReadFile(e2.Identity.CertFile)
	if !bytes.Equal(certBefore, certAfter) {
		t.Error("restart re-enrolled the station instead of keeping its certificate")
	}
	id := e2.Identity
	rc2, err := reconcile.New(reconcile.Config{Identity: id}, st, clock.System{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	if err := rc2.Once(ctx); err != nil {
		t.Fatalf("sync after restart: %v", err)
	}
	evs, _ := e2.Server.Events(ctx, id.StationID)
	// The issuance once; besides it only the audit checkpoint of what the
	// first pull audited (the administrators it authorised, AD-2).
	var issuances int
	for _, ev := range evs {
		switch ev.Kind {
		case protocol.KindIssuance:
			issuances++
		case protocol.KindAuditCheckpoint:
		default:
			t.Errorf("registry holds a %s event after restart", ev.Kind)
		}
	}
	if issuances != 1 {
		t.Errorf("registry holds %d issuances after restart, want 1", issuances)
	}
	for _, form := range []string{pnr, pnr[:8] + "-" + pnr[8:], pnr[2:]} {
		if bytes.Contains([]byte(logs.String()), []byte(form)) {
			t.Errorf("a personal number (%s form) appears in the logs", form[:4]+"…")
		}
	}
}

// TestEmbeddedWithoutDemoSeedsNothing: outside make run's simulation the
// embedded registry starts empty — no made-up administrator (AD-1) can log
// in at a real site, no made-up shipment becomes stock.
func TestEmbeddedWithoutDemoSeedsNothing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e, err := registry.StartEmbedded(ctx, dir, log, registry.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	st, err := store.Open(ctx, filepath.Join(dir, "station.db"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rc, err := reconcile.New(reconcile.Config{Identity: e.Identity}, st, clock.System{}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := rc.Once(ctx); err != nil {
		t.Fatalf("sync with the embedded registry: %v", err)
	}
	for _, table := range []string{"operators", "ref_shipments", "ref_person_facts"} {
		var n int
		if err := st.Reader().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows from a registry started without demo data, want 0", table, n)
		}
	}
}
