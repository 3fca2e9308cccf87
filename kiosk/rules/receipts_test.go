package rules

import (
	"errors"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// signedReceipt is the draft of an issuance by attestation, signed.
func signedReceipt(t *testing.T) Receipt {
	in := reserveInput(t)
	withAttestation(t, &in)
	d, err := IssueReserve(in)
	if err != nil {
		t.Fatal(err)
	}
	r := d.Receipt
	r.SignedAt = in.Now.Add(2 * time.Minute)
	for i := range r.Attestors {
		r.Attestors[i].SignedAt = in.Now.Add(3 * time.Minute)
	}
	return r
}

func TestCheckReceipt(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Receipt)
		want   []string
		field  string
	}{
		{"RE-4/complete", func(r *Receipt) {}, nil, ""},
		{"RE-4/no recipient", func(r *Receipt) { r.Recipient = Person{} }, []string{"RE-4"}, "recipient"},
		{"RE-4/no recipient name", func(r *Receipt) { r.RecipientName = "" }, []string{"RE-4"}, "recipient_name"},
		{"RE-4/no card number", func(r *Receipt) { r.CardNumber = "" }, []string{"RE-4"}, "card_number"},
		{"RE-4/no validity", func(r *Receipt) { r.ValidUntil = time.Time{} }, []string{"RE-4"}, "validity"},
		{"RE-4/validity backwards", func(r *Receipt) { r.ValidUntil = r.ValidFrom.Add(-time.Hour) }, []string{"RE-4"}, "validity"},
		{"RE-4/no reason", func(r *Receipt) { r.Reason = "" }, []string{"RE-4"}, "reason"},
		{"RE-4/no identification", func(r *Receipt) { r.Attestors = nil }, []string{"RE-4"}, "identification"},
		{"RE-4/document without number", func(r *Receipt) {
			r.Attestors = nil
			r.Document = &IDDocument{Type: DocSwedishPassport, Expiry: date(2030, 1, 1)}
		}, []string{"RE-4"}, "document"},
		{"RE-4/no administrator", func(r *Receipt) { r.OperatorName = "" }, []string{"RE-4"}, "operator"},
		{"RE-4/attestor without name", func(r *Receipt) { r.Attestors[1].Name = "" }, []string{"RE-4"}, "attestor 2"},
		{"RE-4/no time", func(r *Receipt) { r.At = time.Time{} }, []string{"RE-4"}, "time"},
		{"RE-4/no place", func(r *Receipt) { r.Place = " " }, []string{"RE-4"}, "place"},
		{"RE-4/no ID", func(r *Receipt) { r.ID = "" }, []string{"RE-4"}, "id"},
		{"RE-1/not signed by the recipient", func(r *Receipt) { r.SignedAt = time.Time{} }, []string{"RE-1"}, ""},
		{"RE-1/not signed by an attestor", func(r *Receipt) { r.Attestors[0].SignedAt = time.Time{} }, []string{"RE-1"}, ""},
		{"RE-3/receipt ID already used", func(r *Receipt) { r.ID = "R-0" }, []string{"RE-3"}, ""},
		{"RE-3/a receipt cannot correct itself", func(r *Receipt) { r.Corrects = r.ID }, []string{"RE-3"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedReceipt(t)
			tt.change(&r)
			vs := CheckReceipt(r, []string{"R-0"})
			wantRules(t, vs.Err(), tt.want...)
			if tt.field != "" && vs[0].Facts["field"] != tt.field {
				t.Errorf("field %q, want %q", vs[0].Facts["field"], tt.field)
			}
		})
	}
}

func TestReceiptImmutable(t *testing.T) {
	r := signedReceipt(t)
	s, err := Seal(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySealed(s); err != nil {
		t.Errorf("RE-3/intact receipt: %v", err)
	}
	// Read back from storage in UTC: the same receipt.
	back := s
	back.Receipt.At, back.Receipt.SignedAt = r.At.UTC(), r.SignedAt.UTC()
	if err := VerifySealed(back); err != nil {
		t.Errorf("RE-3/same receipt in UTC: %v", err)
	}
	if err := CheckReceiptUpdate(s, back.Receipt); err != nil {
		t.Errorf("RE-3/no change: %v", err)
	}
	edited := s
	edited.Receipt.ValidUntil = edited.Receipt.ValidUntil.AddDate(0, 0, 1)
	var v *violation.Violation
	if err := VerifySealed(edited); !errors.As(err, &v) || v.Rule != "RE-3" {
		t.Errorf("RE-3/edited receipt: %v", err)
	}
	changed := r
	changed.CardNumber = "RK 000999"
	if err := CheckReceiptUpdate(s, changed); !violation.HasRule(err, "RE-3") {
		t.Errorf("RE-3/update of a sealed receipt: %v", err)
	}
	if _, err := Seal(Receipt{ID: "x"}, nil); !violation.HasRule(err, "RE-4") {
		t.Errorf("RE-4/sealing an empty receipt: %v", err)
	}
}

func TestReceiptCorrection(t *testing.T) {
	r := signedReceipt(t)
	s, err := Seal(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	fixed := r
	fixed.RecipientName = "Rut Mottagare-Ek"
	c, err := NewCorrection(s, fixed, "R-1b")
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != "R-1b" || c.Corrects != "R-1" || !c.SignedAt.IsZero() || !c.Attestors[0].SignedAt.IsZero() {
		t.Errorf("RE-3/correction %+v", c)
	}
	if s.Receipt.Attestors[0].SignedAt.IsZero() || r.Attestors[0].SignedAt.IsZero() {
		t.Errorf("RE-3/correction changed the original")
	}
	if err := VerifySealed(s); err != nil {
		t.Errorf("RE-3/original changed by the correction: %v", err)
	}
	c.SignedAt = r.SignedAt.Add(time.Hour)
	for i := range c.Attestors {
		c.Attestors[i].SignedAt = c.SignedAt
	}
	if _, err := Seal(c, []string{"R-1"}); err != nil {
		t.Errorf("RE-3/sealing the correction: %v", err)
	}
	if _, err := NewCorrection(s, fixed, "R-1"); !violation.HasRule(err, "RE-3") {
		t.Errorf("RE-3/correction reusing the ID: %v", err)
	}
	tampered := s
	tampered.Receipt.Place = "elsewhere"
	if _, err := NewCorrection(tampered, fixed, "R-1c"); !violation.HasRule(err, "RE-3") {
		t.Errorf("RE-3/correcting a tampered receipt: %v", err)
	}
}

func TestNotifications(t *testing.T) {
	p := cast(t)
	ns := ApprovedNotifications("RK 1", p.recipient.Person, []Person{p.manager.Person, p.manager2.Person})
	if len(ns) != 3 || ns[0].Event != NotifyApproved || ns[0].Role != ToRecipient {
		t.Fatalf("RE-5/approval notifications %+v", ns)
	}
	if got := ns[0].Message("en"); got != "Reserve card RK 1 is now ready to be activated at https://minasidor.siths.se." {
		t.Errorf("RE-5/message %q", got)
	}
	in := reserveInput(t)
	d, err := IssueReserve(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Notifications) != 1 || d.Notifications[0].Event != NotifyIssued {
		t.Errorf("RE-5/issuance by document notifies the recipient only: %+v", d.Notifications)
	}
}

// TestCheckReceiptNoSignature: the statement that the recipient cannot
// sign stands in place of their signature (RE-1) only with a reason from
// the fixed list and an attestor proven by card, who is neither the
// operator nor the recipient (AT-3); a correction is signed again.
func TestCheckReceiptNoSignature(t *testing.T) {
	confirmed := func(r *Receipt) {
		r.NoSignature = &NoSignature{Reason: NoSignCannotWrite, ConfirmedBy: Person{HSAID: hsa(t, "P000000000555")},
			ConfirmedByName: "Ida Intyg", Proof: ProofCard, ConfirmedAt: r.SignedAt}
	}
	tests := []struct {
		name   string
		change func(*Receipt)
		want   []string
	}{
		{"RE-1/confirmed statement", func(r *Receipt) {}, nil},
		{"RE-1/reason not on the list", func(r *Receipt) { r.NoSignature.Reason = "broken arm" }, []string{"RE-1"}},
		{"RE-1/no attestor", func(r *Receipt) { r.NoSignature.ConfirmedBy = Person{} }, []string{"RE-1"}},
		{"RE-1/attestor typed in", func(r *Receipt) { r.NoSignature.Proof = ProofTyped }, []string{"RE-1"}},
		{"AT-3/the operator confirms", func(r *Receipt) { r.NoSignature.ConfirmedBy = r.Operator }, []string{"AT-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedReceipt(t)
			confirmed(&r)
			tt.change(&r)
			wantRules(t, CheckReceipt(r, nil).Err(), tt.want...)
		})
	}
	r := signedReceipt(t)
	confirmed(&r)
	sealed, err := Seal(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCorrection(sealed, sealed.Receipt, "R-2")
	if err != nil {
		t.Fatal(err)
	}
	if c.NoSignature != nil {
		t.Error("a correction keeps the old statement; it is signed again")
	}
}
