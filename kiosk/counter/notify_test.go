package counter

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/sync/protocol"
)

// notificationRows are the notification events queued in the outbox.
func (c *counter) notificationRows() []protocol.NotificationPayload {
	c.t.Helper()
	rows, err := c.st.Reader().Query(`SELECT payload FROM outbox WHERE kind = ? ORDER BY seq`, protocol.KindNotification)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	var out []protocol.NotificationPayload
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			c.t.Fatal(err)
		}
		for _, needle := range []string{strings.ReplaceAll(devseed.Lost, "-", ""), devseed.Lost, "Eva Ek", "Ida Intyg", "Chef Chefsson"} {
			if strings.Contains(raw, needle) {
				c.t.Errorf("notification payload holds personal data %q: %s", needle, raw)
			}
		}
		var p protocol.NotificationPayload
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			c.t.Fatal(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *counter) issuanceID() string {
	c.t.Helper()
	var id string
	if err := c.st.Reader().QueryRow(`SELECT id FROM issuances WHERE kind = 'reserve'`).Scan(&id); err != nil {
		c.t.Fatal(err)
	}
	return id
}

// queuedWith checks that the notifications were queued with the issuance:
// right after its issuance and receipt events, with nothing in between.
func (c *counter) queuedWith(issuanceID string) {
	c.t.Helper()
	var kinds []string
	rows, err := c.st.Reader().Query(`SELECT kind FROM outbox ORDER BY seq`)
	if err != nil {
		c.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		_ = rows.Scan(&k)
		kinds = append(kinds, k)
	}
	got := strings.Join(kinds, ",")
	if !strings.Contains(got, "issuance,receipt,"+protocol.KindNotification) {
		c.t.Errorf("outbox kinds = %s: the notifications follow the issuance and its receipt", got)
	}
}

func TestNotificationsRE5DocumentIssuanceNotifiesTheRecipient(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.completeIssuance(devseed.Lost)
	got := c.notificationRows()
	if len(got) != 1 {
		t.Fatalf("notifications = %+v, want 1 (the recipient; no attestors)", got)
	}
	id := c.issuanceID()
	var receipt string
	_ = c.st.Reader().QueryRow(`SELECT id FROM receipts`).Scan(&receipt)
	want := protocol.NotificationPayload{Event: "issued", Role: "recipient", IssuanceID: id, ReceiptID: receipt,
		CardSerial: devseed.ReserveInStock[0], Key: "notify.issued"}
	if got[0] != want {
		t.Errorf("notification = %+v, want %+v", got[0], want)
	}
	c.queuedWith(id)
}

func TestNotificationsRE5AttestedIssuanceNotifiesRecipientAndBothAttestors(t *testing.T) {
	c := newCounter(t)
	c.allowTypedAttestors() // the attestors are typed in here
	c.login()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const ida, chef = "SE2321000131-P000000000021", "SE2321000131-P000000000031"
	must(c.call("flow.start", map[string]Kind{"kind": KindIssue}))
	must(c.step("reason", map[string]string{"reason": "lost"}))
	must(c.step("recipient", RecipientInput{PersonalNumber: devseed.Lost, Name: "Eva Ek"}))
	must(c.step("attestors", map[string]any{"ground": "no_valid_document", "attestors": []AttestorInput{
		{HSAID: ida, Name: "Ida Intyg", Role: "manager"}, {HSAID: chef, Name: "Chef Chefsson", Role: "manager"}}}))
	c.drawer.Open()
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Data["drawer_opened"] == true })
	must(c.step("card", map[string]string{"serial": devseed.ReserveInStock[0]}))
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	must(c.step("confirm", nil))
	sig := SignatureInput{AspectRatio: 3, Strokes: [][]receiptPoint{{{X: .1, Y: .1}, {X: .2, Y: .5}, {X: .3, Y: .2}, {X: .4, Y: .6}, {X: .5, Y: .3}}}}
	for _, k := range []string{"recipient", "attestor-1", "attestor-2", "administrator"} {
		sig.Key = k
		must(c.step("sign", sig))
	}
	// Before completion nothing is queued.
	if n := len(c.notificationRows()); n != 0 {
		t.Fatalf("%d notifications queued before the receipt was signed", n)
	}
	must(c.step("complete", nil))

	got := c.notificationRows()
	if len(got) != 3 {
		t.Fatalf("notifications = %+v, want 3 (the recipient and two attestors)", got)
	}
	id := c.issuanceID()
	roles := map[string]string{}
	for _, n := range got {
		if n.IssuanceID != id || n.Event != "issued" || n.Key != "notify.issued" || n.CardSerial != devseed.ReserveInStock[0] {
			t.Errorf("notification %+v is not about issuance %s", n, id)
		}
		roles[n.Role+":"+n.HSAID] = n.Role
	}
	for _, k := range []string{"recipient:", "attestor:" + ida, "attestor:" + chef} {
		if _, ok := roles[k]; !ok {
			t.Errorf("no notification to %s in %+v", k, got)
		}
	}
	c.queuedWith(id)
}

// TestNotificationsRE5NoneForARefusedCompletion: a completion the station
// refuses stores nothing, and queues no notification.
func TestNotificationsRE5NoneForARefusedCompletion(t *testing.T) {
	c := newCounter(t)
	c.login()
	c.issueUpToCard(devseed.Lost)
	c.insert(1, devseed.ReserveInStock[0])
	c.waitView(func(v View) bool { return v.Flow != nil && v.Flow.Step == "preview" })
	if err := c.step("confirm", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.step("complete", nil); !strings.Contains(rulesOf(err), "RE-1") {
		t.Fatalf("complete without signatures: %v, want RE-1", err)
	}
	if n := len(c.notificationRows()); n != 0 {
		t.Errorf("%d notifications queued for an issuance not stored", n)
	}
}
