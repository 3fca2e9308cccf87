package reconcile_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// The registry trusts each station only with what is its own (issue 12).

const (
	authorisedOp   = "SE2321000131-P000000012345" // Seed: authorised
	deauthorisedOp = "SE2321000131-P000000099999" // Seed: not authorised
)

// twoStations starts a registry with Seed's reference data (no station)
// and stations A and B, each with reserve cards shipped to it.
func twoStations(t *testing.T) (*registrytest.Registry, *station, *station) {
	t.Helper()
	ctx := context.Background()
	reg := registrytest.Start(t)
	if err := reg.Server.Seed(ctx, ""); err != nil {
		t.Fatal(err)
	}
	a := newStation(t, reg.Identity(t, "ST-A"), reg.URL, nil)
	b := newStation(t, reg.Identity(t, "ST-B"), reg.URL, nil)
	if err := reg.Server.Ship(ctx, "ST-A", "SHIP-A", "reserve", "RK-A1", "RK-A2", "RK-A3", "RK-A4"); err != nil {
		t.Fatal(err)
	}
	if err := reg.Server.Ship(ctx, "ST-B", "SHIP-B", "reserve", "RK-B1", "RK-B2"); err != nil {
		t.Fatal(err)
	}
	return reg, a, b
}

// TestPushedEventsOnlyForOwnCards: a station's events about its own cards,
// by authorised operators, are applied; events about another station's
// card, a card that is not its own, or by an operator who is not
// authorised are stored and acknowledged (its outbox drains) but not
// applied, and listed for central review.
func TestPushedEventsOnlyForOwnCards(t *testing.T) {
	ctx := context.Background()
	reg, a, b := twoStations(t)
	now := a.clk.Now()
	pnr := registry.TestPersonalNumber("19850505", 321)
	// B issues its own card first, so RK-B1 is B's by issuance too.
	b.enqueue(protocol.IssuancePayload{IssuanceID: "b-1", CardSerial: "RK-B1", CardType: "reserve", PersonalNumber: pnr, Reason: "forgotten", ValidUntil: now.AddDate(0, 0, 10), Operator: authorisedOp})
	mustOnce(t, b)

	cases := []struct {
		name    string
		payload protocol.Payload
		want    string // review reason; "" when applied
	}{
		{"own card, authorised operator", protocol.IssuancePayload{IssuanceID: "a-1", CardSerial: "RK-A1", CardType: "reserve", Reason: "forgotten", Operator: authorisedOp}, ""},
		{"own card blocked", protocol.BlockRequestPayload{CardSerial: "RK-A2", Reason: "lost", Operator: authorisedOp}, ""},
		{"issuance of another station's card", protocol.IssuancePayload{IssuanceID: "a-2", CardSerial: "RK-B2", CardType: "reserve", PersonalNumber: pnr, Reason: "forgotten", Operator: authorisedOp}, registry.ReviewCardOfAnotherStation},
		{"issuance of a card not shipped anywhere", protocol.IssuancePayload{IssuanceID: "a-3", CardSerial: "RK-NOWHERE", CardType: "reserve", Reason: "forgotten", Operator: authorisedOp}, registry.ReviewCardNotShippedHere},
		{"block request for another station's card", protocol.BlockRequestPayload{CardSerial: "RK-B1", Reason: "lost", Operator: authorisedOp}, registry.ReviewCardOfAnotherStation},
		{"return of another station's card", protocol.ReturnPayload{IssuanceID: "a-4", CardSerial: "RK-B1", RefersTo: "b-1", Operator: authorisedOp}, registry.ReviewCardOfAnotherStation},
		{"receipt for another station's card", protocol.ReceiptPayload{ReceiptID: "r-x", IssuanceID: "b-1", CardSerial: "RK-B1"}, registry.ReviewCardOfAnotherStation},
		{"operator not authorised", protocol.IssuancePayload{IssuanceID: "a-5", CardSerial: "RK-A3", CardType: "reserve", Reason: "forgotten", Operator: deauthorisedOp}, registry.ReviewOperatorNotAuthorised},
		{"operator unknown", protocol.IssuancePayload{IssuanceID: "a-6", CardSerial: "RK-A3", CardType: "reserve", Reason: "forgotten", Operator: "SE2321000131-P000000000666"}, registry.ReviewOperatorNotAuthorised},
		{"no operator", protocol.BlockRequestPayload{CardSerial: "RK-A4", Reason: "lost"}, registry.ReviewOperatorMissing},
	}
	seqs := map[int64]int{}
	for i, c := range cases {
		seqs[a.enqueue(c.payload).Seq] = i
	}
	mustOnce(t, a)
	if d := a.depth(); d != 0 {
		t.Errorf("station A's outbox holds %d events, want 0 (every event acknowledged)", d)
	}
	if n := eventCount(t, reg, "ST-A"); n < len(cases) {
		t.Errorf("registry stored %d events of A, want at least %d", n, len(cases))
	}
	items, err := reg.Server.ReviewItems(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held := map[int]registry.ReviewItem{}
	for _, it := range items {
		if it.Station != "ST-A" {
			t.Errorf("review lists %s seq %d (%s), want only A's events", it.Station, it.Seq, it.Reason)
			continue
		}
		held[seqs[it.Seq]] = it
	}
	for i, c := range cases {
		got := held[i].Reason
		if got != c.want {
			t.Errorf("%s: got review reason %q, want %q", c.name, got, c.want)
		}
	}

	// Nothing of the refused events changed another station's state.
	mustOnce(t, b)
	for _, c := range []struct {
		name string
		st   *station
		q    string
		want int
	}{
		{"A's own issuance applied", a, `SELECT count(*) FROM ref_card_status WHERE serial = 'RK-A1' AND state = 'pending'`, 1},
		{"A's own block applied", a, `SELECT count(*) FROM ref_blocked_cards WHERE serial = 'RK-A2'`, 1},
		{"B's card not blocked by A", b, `SELECT count(*) FROM ref_blocked_cards WHERE serial = 'RK-B1'`, 0},
		{"B's card still B's and pending", b, `SELECT count(*) FROM ref_card_status WHERE serial = 'RK-B1' AND state = 'pending' AND receipt_received = 0`, 1},
		{"A does not see B's card", a, `SELECT count(*) FROM ref_card_status WHERE serial LIKE 'RK-B%'`, 0},
		{"card issued by a deauthorised operator has no status", a, `SELECT count(*) FROM ref_card_status WHERE serial = 'RK-A3'`, 0},
	} {
		if got := c.st.count(c.q); got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, got, c.want)
		}
	}
	facts, err := b.st.PersonFacts(ctx, pnr)
	if err != nil {
		t.Fatal(err)
	}
	var doc protocol.PersonFactsDoc
	if err := json.Unmarshal(facts, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ReserveCards) != 1 || doc.ReserveCards[0].Serial != "RK-B1" || doc.ReserveCards[0].Station != "ST-B" {
		t.Errorf("RC-4: the person's reserve cards = %+v, want only RK-B1 of ST-B (A's refused issuance must not add one)", doc.ReserveCards)
	}
	stations, err := reg.Server.Stations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stations {
		want := map[string]int64{"ST-A": int64(len(held)), "ST-B": 0}[s.ID]
		if s.HeldForReview != want {
			t.Errorf("station %s: %d events held for review, want %d", s.ID, s.HeldForReview, want)
		}
	}
}

// TestPersonFactsScopedToStation: a station pulls the facts of its own
// people (orders it serves, cards shipped to it or issued there), not the
// whole register; a card shipped later brings its holder's facts.
func TestPersonFactsScopedToStation(t *testing.T) {
	ctx := context.Background()
	reg, a, b := twoStations(t)
	pA := registry.TestPersonalNumber("19700101", 11) // order served by A
	pB := registry.TestPersonalNumber("19700101", 22) // ordered card shipped to B
	pN := registry.TestPersonalNumber("19700101", 33) // nobody's
	pL := registry.TestPersonalNumber("19700101", 44) // a card shipped to B later
	docs := map[string]protocol.PersonFactsDoc{
		pA: {Orders: []protocol.OrderFact{{Type: "reserve", Reason: "temporary_assignment", Station: "ST-A"}}},
		pB: {Orders: []protocol.OrderFact{{Type: "regular", CardSerial: "SIS-B-1"}}},
		pN: {RegularCards: []protocol.RegularCardFact{{Serial: "SIS-N-1"}}},
		pL: {RegularCards: []protocol.RegularCardFact{{Serial: "SIS-L-1"}}, Orders: []protocol.OrderFact{{Type: "regular", CardSerial: "SIS-L-2"}}},
	}
	for pnr, d := range docs {
		if err := reg.Server.SetPersonFactsDoc(ctx, pnr, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := reg.Server.Ship(ctx, "ST-B", "SHIP-B2", "sis", "SIS-B-1"); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, a)
	mustOnce(t, b)
	has := func(s *station, pnr string) bool {
		return s.count(`SELECT count(*) FROM ref_person_facts WHERE personal_number = ?`, pnr) == 1
	}
	check := func(when string, want map[*station][]string) {
		t.Helper()
		for s, pnrs := range want {
			for _, p := range []string{pA, pB, pN, pL} {
				if got, w := has(s, p), slices.Contains(pnrs, p); got != w {
					t.Errorf("%s: station %s holds the facts of person %s: got %v, want %v", when, s.id.StationID, p[8:], got, w)
				}
			}
		}
	}
	check("first pull", map[*station][]string{a: {pA}, b: {pB}})

	// The ordered card of pL is shipped to B: B receives pL's facts with
	// its next (delta) pull; a change of pA's facts reaches A only.
	if err := reg.Server.Ship(ctx, "ST-B", "SHIP-B3", "sis", "SIS-L-2"); err != nil {
		t.Fatal(err)
	}
	d := docs[pA]
	d.Orders = append(d.Orders, protocol.OrderFact{Type: "regular", Station: "ST-A"})
	if err := reg.Server.SetPersonFactsDoc(ctx, pA, d); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, a)
	mustOnce(t, b)
	check("after shipping", map[*station][]string{a: {pA}, b: {pB, pL}})
	if n := a.count(`SELECT count(*) FROM ref_person_facts WHERE personal_number = ? AND facts LIKE '%regular%'`, pA); n != 1 {
		t.Errorf("A did not receive the change of its person's facts")
	}
}

// TestLockedStationPullsNothing: a locked station's pull is refused with
// station_locked and applies nothing; its pushes are still taken, and
// after the unlock it catches up.
func TestLockedStationPullsNothing(t *testing.T) {
	ctx := context.Background()
	reg, a, _ := twoStations(t)
	if _, err := reg.Server.SendCommand(ctx, "ST-A", protocol.CmdLock); err != nil {
		t.Fatal(err)
	}
	a.enqueue(protocol.StockMovementPayload{CardSerial: "RK-A1", Movement: "received", ShipmentRef: "SHIP-A"})
	err := a.cli.Once(ctx)
	var pe *protocol.Error
	if !errors.Is(err, reconcile.ErrStationLocked) || !errors.As(err, &pe) || pe.Status != http.StatusLocked || pe.Code != protocol.CodeStationLocked {
		t.Fatalf("sync of a locked station: got %v, want 423 %s (ErrStationLocked)", err, protocol.CodeStationLocked)
	}
	for _, q := range []string{`SELECT count(*) FROM ref_cursors`, `SELECT count(*) FROM ref_validity`, `SELECT count(*) FROM operators`, `SELECT count(*) FROM ref_shipments`} {
		if n := a.count(q); n != 0 {
			t.Errorf("locked station: %s = %d, want 0", q, n)
		}
	}
	if d := a.depth(); d != 0 {
		t.Errorf("locked station's outbox holds %d events, want 0 (pushes are taken)", d)
	}
	if _, err := reg.Server.Pull(ctx, "ST-A", map[string]string{protocol.RefValidity: ""}, 0); !errors.Is(err, registry.ErrStationLocked) {
		t.Errorf("Server.Pull of a locked station: got %v, want ErrStationLocked", err)
	}
	if _, err := reg.Server.SendCommand(ctx, "ST-A", protocol.CmdUnlock); err != nil {
		t.Fatal(err)
	}
	mustOnce(t, a)
	if n := a.count(`SELECT count(*) FROM ref_shipments`); n != 4 {
		t.Errorf("after unlock: %d shipments, want 4", n)
	}
}

// TestRevokedStationRefusedAtTLS: after RevokeStation the station's
// certificate is refused in the TLS handshake (push and pull fail before
// any HTTP), its waiting long poll ends, and it comes back only by
// re-enrolment, which needs the explicit replace confirmation and revokes
// the certificate it replaces.
func TestRevokedStationRefusedAtTLS(t *testing.T) {
	ctx := context.Background()
	reg, a, b := twoStations(t)
	mustOnce(t, a)

	// A long poll waiting when the certificate is revoked ends at once.
	tc, err := a.id.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	hc := reconcile.NewHTTPClient(tc, 10*time.Second, nil)
	defer hc.CloseIdleConnections()
	polled := make(chan error, 1)
	go func() {
		var resp protocol.ControlResponse
		polled <- protocol.Post(ctx, hc, reg.URL+protocol.PathControl, protocol.ControlRequest{StationID: "ST-A", WaitSeconds: 5}, &resp)
	}()
	time.Sleep(300 * time.Millisecond) // let the poll reach the registry
	if err := reg.Server.RevokeStation(ctx, "ST-A"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-polled:
		var pe *protocol.Error
		if !errors.As(err, &pe) || pe.Code != protocol.CodeRevoked {
			t.Errorf("long poll at revocation: got %v, want %s", err, protocol.CodeRevoked)
		}
	case <-time.After(3 * time.Second):
		t.Error("the long poll did not end at revocation")
	}

	// The handshake refuses the certificate; a fresh client's push and
	// pull fail in TLS, and the old client's open connection is refused.
	if err := handshake(t, a.id, reg.Addr); err == nil || !strings.Contains(err.Error(), "tls: bad certificate") {
		t.Errorf("handshake with a revoked certificate: got %v, want the registry's bad certificate alert", err)
	}
	fresh := newStation(t, a.id, reg.URL, nil)
	fresh.enqueue(protocol.StockMovementPayload{CardSerial: "RK-A1", Movement: "received"})
	before := eventCount(t, reg, "ST-A")
	if _, err := fresh.cli.Push(ctx); !isTLSRefusal(err) {
		t.Errorf("push with a revoked certificate: got %v, want a TLS refusal", err)
	}
	fresh.client() // a new connection: the failed one is not reused
	if err := fresh.cli.Pull(ctx); !isTLSRefusal(err) {
		t.Errorf("pull with a revoked certificate: got %v, want a TLS refusal", err)
	}
	if err := a.cli.Once(ctx); err == nil {
		t.Error("sync on the old client's connection after revocation succeeded")
	}
	if n := eventCount(t, reg, "ST-A"); n != before {
		t.Errorf("registry stored %d events of A after revocation, want %d", n, before)
	}
	stations, _ := reg.Server.Stations(ctx)
	for _, s := range stations {
		if s.ID == "ST-A" && (!s.Revoked || s.Enrolled) {
			t.Errorf("station A = revoked %v, enrolled %v; want revoked, not enrolled", s.Revoked, s.Enrolled)
		}
	}

	// Re-enrolling B, which has a certificate, needs the confirmation.
	if _, err := reg.Server.NewEnrolCode(ctx, "ST-B", time.Hour); !errors.Is(err, registry.ErrAlreadyEnrolled) {
		t.Errorf("enrolment code for an enrolled station without replace: got %v, want ErrAlreadyEnrolled", err)
	}
	code, err := reg.Server.NewReplacementEnrolCode(ctx, "ST-B", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	idB2, err := enrol.Enrol(ctx, reg.URL, code, reg.Server.CA().Fingerprint(), t.TempDir())
	if err != nil {
		t.Fatalf("re-enrol with the replacement code: %v", err)
	}
	if err := handshake(t, b.id, reg.Addr); err == nil || !strings.Contains(err.Error(), "tls: bad certificate") {
		t.Errorf("handshake with the replaced certificate: got %v, want the bad certificate alert", err)
	}
	b2 := newStation(t, idB2, reg.URL, nil)
	mustOnce(t, b2)
	// A revoked station comes back with an ordinary code.
	codeA, err := reg.Server.NewEnrolCode(ctx, "ST-A", time.Hour)
	if err != nil {
		t.Fatalf("enrolment code after revocation: %v", err)
	}
	idA2, err := enrol.Enrol(ctx, reg.URL, codeA, reg.Server.CA().Fingerprint(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mustOnce(t, newStation(t, idA2, reg.URL, nil))
}

// isTLSRefusal: the registry refused the connection before any HTTP
// answer. How the client reports the handshake alert varies (the alert,
// a broken pipe, an HTTP/2 connection that could not be established);
// handshake above checks the alert itself.
func isTLSRefusal(err error) bool {
	var pe *protocol.Error
	return err != nil && !errors.As(err, &pe)
}

// TestAuditCheckpointForkRaisesAlarm: the registry anchors a station's
// audit checkpoints; one that goes backwards, or repeats a seq with
// another hash, raises an alarm in the station's status and on the admin
// page; rising ones do not.
func TestAuditCheckpointForkRaisesAlarm(t *testing.T) {
	ctx := context.Background()
	reg, a, _ := twoStations(t)
	err := a.st.Update(ctx, a.clk, func(tx *store.Tx) error {
		_, err := tx.Audit(ctx, audit.Entry{Kind: "card.state", Actor: "station", Subject: "RK-A1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustOnce(t, a) // the real checkpoint of A's chain
	st := stationInfo(t, reg, "ST-A")
	if st.AuditSeq == 0 || st.AuditAlarms != 0 {
		t.Fatalf("after an honest sync: audit head %d, %d alarms; want a head and no alarm", st.AuditSeq, st.AuditAlarms)
	}
	head := st.AuditSeq
	h := func(c string) string { return strings.Repeat(c, 64) }
	steps := []struct {
		name   string
		cp     protocol.AuditCheckpointPayload
		alarms int64
		kind   string
	}{
		{"rising", protocol.AuditCheckpointPayload{Seq: head + 10, Hash: h("a")}, 0, ""},
		{"same head again", protocol.AuditCheckpointPayload{Seq: head + 10, Hash: h("a")}, 0, ""},
		{"fork: same seq, other hash", protocol.AuditCheckpointPayload{Seq: head + 10, Hash: h("b")}, 1, "fork"},
		{"backwards", protocol.AuditCheckpointPayload{Seq: head + 2, Hash: h("c")}, 2, "backwards"},
		{"rising again", protocol.AuditCheckpointPayload{Seq: head + 20, Hash: h("d")}, 2, ""},
	}
	for _, s := range steps {
		a.enqueue(a.signed(s.cp))
		if _, err := a.cli.Push(ctx); err != nil {
			t.Fatal(err)
		}
		st := stationInfo(t, reg, "ST-A")
		if st.AuditAlarms != s.alarms {
			t.Errorf("%s: got %d alarms, want %d", s.name, st.AuditAlarms, s.alarms)
		}
		if s.kind != "" && !strings.HasPrefix(st.AuditAlarm, s.kind) {
			t.Errorf("%s: got alarm %q, want %s", s.name, st.AuditAlarm, s.kind)
		}
	}
	if st := stationInfo(t, reg, "ST-A"); st.AuditSeq != head+20 || st.AuditHash != h("d") {
		t.Errorf("audit head = %d %s, want %d %s", st.AuditSeq, st.AuditHash, head+20, h("d"))
	}
	alarms, err := reg.Server.AuditAlarms(ctx)
	if err != nil || len(alarms) != 2 || alarms[0].Kind != "backwards" || alarms[1].Kind != "fork" {
		t.Errorf("audit alarms = %+v, %v; want backwards and fork", alarms, err)
	}
}

// signed is cp signed with the station's own key, as CheckpointAudit
// signs it.
func (s *station) signed(cp protocol.AuditCheckpointPayload) protocol.AuditCheckpointPayload {
	s.t.Helper()
	if err := protocol.SignCheckpoint(&cp, s.id.StationID, s.clk.Now(), s.key()); err != nil {
		s.t.Fatal(err)
	}
	return cp
}

func (s *station) key() crypto.Signer {
	s.t.Helper()
	kp, err := tls.LoadX509KeyPair(s.id.CertFile, s.id.KeyFile)
	if err != nil {
		s.t.Fatal(err)
	}
	return kp.PrivateKey.(crypto.Signer)
}

// TestAuditCheckpointSignedByStationKey: the registry anchors only
// checkpoints signed by the pushing station's own key. One unsigned,
// signed by another station's key, signed for another station, or whose
// hash or seq was changed after signing is stored (the outbox drains) but
// not anchored, and raises an alarm; the honest checkpoint after it is
// anchored.
func TestAuditCheckpointSignedByStationKey(t *testing.T) {
	ctx := context.Background()
	reg, a, b := twoStations(t)
	err := a.st.Update(ctx, a.clk, func(tx *store.Tx) error {
		_, err := tx.Audit(ctx, audit.Entry{Kind: "card.state", Actor: "station", Subject: "RK-A1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustOnce(t, a) // CheckpointAudit signs with A's key: anchored
	st := stationInfo(t, reg, "ST-A")
	if st.AuditSeq == 0 || st.AuditAlarms != 0 {
		t.Fatalf("after an honest sync: audit head %d, %d alarms; want a head and no alarm", st.AuditSeq, st.AuditAlarms)
	}
	head, headHash := st.AuditSeq, st.AuditHash
	h := func(c string) string { return strings.Repeat(c, 64) }
	byB := protocol.AuditCheckpointPayload{Seq: head + 5, Hash: h("b")}
	if err := protocol.SignCheckpoint(&byB, "ST-A", a.clk.Now(), b.key()); err != nil {
		t.Fatal(err)
	}
	tamperedHash := a.signed(protocol.AuditCheckpointPayload{Seq: head + 5, Hash: h("c")})
	tamperedHash.Hash = h("d")
	tamperedSeq := a.signed(protocol.AuditCheckpointPayload{Seq: head + 5, Hash: h("e")})
	tamperedSeq.Seq = head + 6
	forB := b.signed(protocol.AuditCheckpointPayload{Seq: head + 5, Hash: h("f")}) // B's own, replayed by A
	for i, c := range []struct {
		name string
		cp   protocol.AuditCheckpointPayload
		why  string
	}{
		{"unsigned", protocol.AuditCheckpointPayload{Seq: head + 5, Hash: h("a")}, "unsigned"},
		{"signed by another station's key", byB, "bad_signature"},
		{"hash changed after signing", tamperedHash, "bad_signature"},
		{"seq changed after signing", tamperedSeq, "bad_signature"},
		{"another station's checkpoint", forB, "bad_signature"},
	} {
		a.enqueue(c.cp)
		if _, err := a.cli.Push(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := a.st.OutboxDepth(ctx); err != nil || n != 0 {
			t.Errorf("%s: outbox %d, %v; want it drained (stored, not anchored)", c.name, n, err)
		}
		st := stationInfo(t, reg, "ST-A")
		if st.AuditSeq != head || st.AuditHash != headHash {
			t.Errorf("%s: anchored (head %d %s)", c.name, st.AuditSeq, st.AuditHash)
		}
		if st.AuditAlarms != int64(i+1) || !strings.HasPrefix(st.AuditAlarm, c.why) {
			t.Errorf("%s: %d alarms, latest %q; want %d, %s", c.name, st.AuditAlarms, st.AuditAlarm, i+1, c.why)
		}
	}
	alarms, err := reg.Server.AuditAlarms(ctx)
	if err != nil || len(alarms) != 5 || alarms[0].Kind != "bad_signature" || alarms[4].Kind != "unsigned" {
		t.Errorf("audit alarms = %+v, %v", alarms, err)
	}
	a.enqueue(a.signed(protocol.AuditCheckpointPayload{Seq: head + 7, Hash: h("9")}))
	if _, err := a.cli.Push(ctx); err != nil {
		t.Fatal(err)
	}
	if st := stationInfo(t, reg, "ST-A"); st.AuditSeq != head+7 {
		t.Errorf("an honest checkpoint after the refused ones: head %d, want %d", st.AuditSeq, head+7)
	}
}

func stationInfo(t *testing.T, reg *registrytest.Registry, id string) registry.StationInfo {
	t.Helper()
	all, err := reg.Server.Stations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no station %s", id)
	return registry.StationInfo{}
}

// TestRC4AcrossStations: a reserve card out at station A refuses its
// holder a second one at station B (RC-4); once it is returned at A, or
// its issuance rejected centrally, B no longer refuses after one sync of
// each, by the rules' own check on B's pulled facts.
func TestRC4AcrossStations(t *testing.T) {
	ctx := context.Background()
	reg, a, b := twoStations(t)
	pnr := registry.TestPersonalNumber("19800101", 555)
	// The person holds a regular card (RC-3) and has an order served by B;
	// A issues them reserve cards, so both stations hold their facts.
	if err := reg.Server.SetPersonFactsDoc(ctx, pnr, protocol.PersonFactsDoc{
		RegularCards: []protocol.RegularCardFact{{Serial: "SIS-555", State: "active"}},
		Orders:       []protocol.OrderFact{{Type: "regular", Station: "ST-B"}},
	}); err != nil {
		t.Fatal(err)
	}
	pn, err := ident.ParsePersonalNumber(pnr)
	if err != nil {
		t.Fatal(err)
	}
	person := rules.Person{PersonalNumber: pn}
	refusedAtB := func() bool {
		t.Helper()
		reg, err := b.st.Registry(ctx, person)
		if err != nil {
			t.Fatal(err)
		}
		return rules.CheckReservePrerequisites(reg, person, rules.ReasonForgotten, b.clk.Now(), "").Has("RC-4")
	}
	syncBoth := func() { t.Helper(); mustOnce(t, a); mustOnce(t, b) }
	issue := func(id, serial string) {
		now := a.clk.Now()
		a.enqueue(protocol.IssuancePayload{IssuanceID: id, CardSerial: serial, CardType: "reserve", PersonalNumber: pnr, Reason: "forgotten",
			ValidFrom: now, ValidUntil: now.AddDate(0, 0, 10), Operator: authorisedOp})
	}

	syncBoth()
	if refusedAtB() {
		t.Fatal("RC-4 refused at B before any reserve card")
	}
	steps := []struct {
		name    string
		do      func()
		refused bool
	}{
		{"issued at A", func() { issue("iss-1", "RK-A1") }, true},
		{"returned at A", func() {
			a.enqueue(protocol.ReturnPayload{IssuanceID: "ret-1", CardSerial: "RK-A1", RefersTo: "iss-1", Operator: authorisedOp})
		}, false},
		{"issued again at A", func() { issue("iss-2", "RK-A2") }, true},
		{"rejected centrally", func() {
			if err := reg.Server.Decide(ctx, "iss-2", false); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, s := range steps {
		s.do()
		syncBoth()
		if got := refusedAtB(); got != s.refused {
			t.Errorf("%s: B refuses a reserve card by RC-4: got %v, want %v", s.name, got, s.refused)
		}
	}
	for _, c := range []struct{ q, want string }{
		{`SELECT state FROM ref_card_status WHERE serial = 'RK-A1'`, "returned"},
		{`SELECT state FROM ref_card_status WHERE serial = 'RK-A2'`, "rejected"},
	} {
		var got string
		if err := a.st.Reader().QueryRow(c.q).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s: got %q (%v), want %q", c.q, got, err, c.want)
		}
	}
}
