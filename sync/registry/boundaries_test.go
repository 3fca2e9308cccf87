package registry_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// TestReserveCardsLeaveFactsWhenNoLongerOut: RC-4 at the registry. A
// reserve card voided or past its validity leaves its holder's facts; an
// extension moves its validity, so it does not expire early.
func TestReserveCardsLeaveFactsWhenNoLongerOut(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir(), Now: clock}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	const op = "SE2321000131-P000000012345"
	if err := srv.SetOperator(ctx, op, "Anna Administratör", true); err != nil {
		t.Fatal(err)
	}
	if err := srv.Ship(ctx, "ST", "S1", "reserve", "RK-V", "RK-E", "RK-X"); err != nil {
		t.Fatal(err)
	}
	seq := int64(0)
	push := func(p protocol.Payload) {
		t.Helper()
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		seq++
		acks, err := srv.Store(ctx, "ST", []protocol.Event{{Seq: seq, ID: uuid.NewString(), Kind: p.EventKind(), Payload: b, CreatedAt: clock()}})
		if err != nil || len(acks) != 1 || acks[0].Result != protocol.AckStored {
			t.Fatalf("store: %v %v", acks, err)
		}
	}
	pnrs := map[string]string{}
	issue := func(serial string, until time.Duration) {
		pnrs[serial] = registry.TestPersonalNumber("19900101", len(pnrs)+1)
		push(protocol.IssuancePayload{IssuanceID: "i-" + serial, CardSerial: serial, CardType: "reserve", PersonalNumber: pnrs[serial],
			Reason: "forgotten", ValidUntil: clock().Add(until), Operator: op})
	}
	reserve := func(serial string) []protocol.ReserveCardFact {
		t.Helper()
		resp, err := srv.Pull(ctx, "ST", map[string]string{protocol.RefPersonFacts: ""}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var items []protocol.PersonFacts
		if p := resp.Pages[protocol.RefPersonFacts]; len(p.Items) > 0 {
			if err := json.Unmarshal(p.Items, &items); err != nil {
				t.Fatal(err)
			}
		}
		for _, it := range items {
			if it.PersonalNumber == pnrs[serial] {
				var d protocol.PersonFactsDoc
				if err := json.Unmarshal(it.Facts, &d); err != nil {
					t.Fatal(err)
				}
				return d.ReserveCards
			}
		}
		t.Fatalf("station ST did not receive the facts of the holder of %s", serial)
		return nil
	}
	issue("RK-V", 240*time.Hour)
	issue("RK-E", time.Hour)
	issue("RK-X", time.Hour)
	push(protocol.ExtensionPayload{IssuanceID: "x-RK-X", CardSerial: "RK-X", RefersTo: "i-RK-X", Reason: "forgotten", ValidUntil: clock().Add(48 * time.Hour), Operator: op})
	push(protocol.StockMovementPayload{CardSerial: "RK-V", Movement: "voided"})
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	n, err := srv.ExpireReserveCards(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("expired %d reserve cards, want 1 (RK-E)", n)
	}
	for _, c := range []struct {
		serial string
		want   int
	}{{"RK-V", 0}, {"RK-E", 0}, {"RK-X", 1}} {
		if got := reserve(c.serial); len(got) != c.want {
			t.Errorf("%s: holder's reserve cards = %+v, want %d", c.serial, got, c.want)
		}
	}
	if got := reserve("RK-X"); len(got) == 1 && got[0].ValidUntil != clock().Add(46*time.Hour).Format(time.RFC3339) {
		t.Errorf("extended RK-X valid until %s, want %s", got[0].ValidUntil, clock().Add(46*time.Hour).Format(time.RFC3339))
	}
}

// TestAuditCheckpointVerifiedAgainstCertificateOnRecord: a checkpoint
// stored without its TLS connection (Store called directly) is verified
// against the station's current certificate on record; after the
// certificate is revoked there is none, and nothing more is anchored.
func TestAuditCheckpointVerifiedAgainstCertificateOnRecord(t *testing.T) {
	ctx := context.Background()
	srv, err := registry.Open(ctx, registrytest.On(t, registry.Config{DataDir: t.TempDir()}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	now := time.Now()
	certPEM, keyPEM, err := srv.IssueStationCert(ctx, "ST", now.Add(-time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	kp, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	seq := int64(0)
	push := func(cp protocol.AuditCheckpointPayload) {
		t.Helper()
		if err := protocol.SignCheckpoint(&cp, "ST", now, kp.PrivateKey.(crypto.Signer)); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(cp)
		seq++
		if _, err := srv.Store(ctx, "ST", []protocol.Event{{Seq: seq, ID: uuid.NewString(), Kind: cp.EventKind(), Payload: b, CreatedAt: now}}); err != nil {
			t.Fatal(err)
		}
	}
	head := func() registry.StationInfo {
		st, err := srv.Stations(ctx)
		if err != nil || len(st) != 1 {
			t.Fatalf("stations: %v %v", st, err)
		}
		return st[0]
	}
	push(protocol.AuditCheckpointPayload{Seq: 3, Hash: strings.Repeat("a", 64)})
	if st := head(); st.AuditSeq != 3 || st.AuditAlarms != 0 {
		t.Fatalf("signed checkpoint: head %d, %d alarms; want 3, none", st.AuditSeq, st.AuditAlarms)
	}
	if err := srv.RevokeStation(ctx, "ST"); err != nil {
		t.Fatal(err)
	}
	push(protocol.AuditCheckpointPayload{Seq: 4, Hash: strings.Repeat("b", 64)})
	if st := head(); st.AuditSeq != 3 || st.AuditAlarms != 1 || !strings.HasPrefix(st.AuditAlarm, "bad_signature") {
		t.Errorf("checkpoint signed by a revoked key: head %d, alarm %q; want 3 and bad_signature", st.AuditSeq, st.AuditAlarm)
	}
}
