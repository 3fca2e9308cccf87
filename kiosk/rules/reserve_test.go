package rules

import (
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

func TestIssueReserve(t *testing.T) {
	p := cast(t)
	tests := []struct {
		name   string
		change func(*ReserveIssuanceInput)
		want   []string
	}{
		{"ok/ID document", func(in *ReserveIssuanceInput) {}, nil},
		{"ID-6/ok by attestation without ID document", func(in *ReserveIssuanceInput) { withAttestation(t, in) }, nil},

		{"AD-1/operator not authorised", func(in *ReserveIssuanceInput) { in.Registry.AuthorisedAdmins = in.Registry.AuthorisedAdmins[1:] }, []string{"AD-1"}},
		{"AD-1/operator without HSA-ID", func(in *ReserveIssuanceInput) { in.Operator.HSAID = ident.HSAID{} }, []string{"AD-1"}},

		{"CP-3/total stop starts: inclusive", func(in *ReserveIssuanceInput) { in.Now = at(2024, 1, 23, 12, 0) }, []string{"CP-3"}},
		{"CP-3/a minute before the total stop", func(in *ReserveIssuanceInput) { in.Now = at(2024, 1, 23, 11, 59) }, nil},
		{"CP-3/last minute of the total stop", func(in *ReserveIssuanceInput) { in.Now = at(2024, 1, 25, 11, 59) }, []string{"CP-3"}},
		{"CP-3/total stop ends: exclusive", func(in *ReserveIssuanceInput) { in.Now = at(2024, 1, 25, 12, 0) }, nil},
		{"CP-3/order stop allows reserve cards", func(in *ReserveIssuanceInput) { in.Now = at(2023, 12, 12, 10, 0) }, nil},
		{"CP-3/malformed stop window", func(in *ReserveIssuanceInput) {
			in.Registry.StopWindows = append(in.Registry.StopWindows, StopWindow{Kind: TotalStop, Window: calendar.Window{Start: at(2024, 9, 1, 0, 0), End: at(2024, 8, 1, 0, 0)}})
		}, []string{"CP-3"}},
		{"CP-3/unknown stop kind", func(in *ReserveIssuanceInput) { in.Registry.StopWindows[0].Kind = "partial" }, []string{"CP-3"}},

		{"ID-1/foreign passport is not accepted", func(in *ReserveIssuanceInput) { in.Document.Type = DocForeignPassport }, []string{"ID-1"}},
		{"ID-1/unknown document", func(in *ReserveIssuanceInput) { in.Document.Type = "library_card" }, []string{"ID-1"}},
		{"ID-1/each accepted type: driving licence", func(in *ReserveIssuanceInput) { in.Document.Type = DocSwedishDrivingLicence }, nil},
		{"ID-1/each accepted type: SIS ID card", func(in *ReserveIssuanceInput) { in.Document.Type = DocSISIDCard }, nil},
		{"ID-1/each accepted type: national ID card", func(in *ReserveIssuanceInput) { in.Document.Type = DocNationalIDCard }, nil},
		{"ID-1/each accepted type: Tax Agency ID card", func(in *ReserveIssuanceInput) { in.Document.Type = DocTaxAgencyIDCard }, nil},
		{"ID-1/document expired yesterday", func(in *ReserveIssuanceInput) { in.Document.Expiry = date(2024, 6, 2) }, []string{"ID-1"}},
		{"ID-1/document expiring today is valid", func(in *ReserveIssuanceInput) { in.Document.Expiry = date(2024, 6, 3) }, nil},
		{"ID-2/damaged document with a valid date", func(in *ReserveIssuanceInput) { in.Document.Damaged = true }, []string{"ID-2"}},
		{"ID-5/document number not recorded", func(in *ReserveIssuanceInput) { in.Document.Number = " " }, []string{"ID-5"}},
		{"ID-5/document expiry not recorded", func(in *ReserveIssuanceInput) { in.Document.Expiry = calendar.Date{} }, []string{"ID-5"}},
		{"ID-5/recipient without personal number or HSA-ID", func(in *ReserveIssuanceInput) { in.Recipient.Person = Person{} }, []string{"ID-5", "RC-3"}},
		{"ID-6/neither ID document nor attestation", func(in *ReserveIssuanceInput) { in.Document = nil }, []string{"ID-6"}},
		{"ID-6/attestation refused: personal number and valid document", func(in *ReserveIssuanceInput) {
			in.Attestors = []Attestor{p.manager, p.manager2}
			in.AttestationGround = GroundNoValidDocument
		}, []string{"ID-6"}},
		{"ID-6/attestation refused: a valid document, whatever the ground", func(in *ReserveIssuanceInput) {
			in.Recipient.PersonalNumber = ident.PersonalNumber{}
			in.Attestors = []Attestor{p.manager, p.manager2}
			in.AttestationGround = GroundNoPersonalNumber
		}, []string{"ID-6"}},
		{"ID-6/attestation allowed: the document is damaged", func(in *ReserveIssuanceInput) {
			in.Document.Damaged = true
			in.Attestors = []Attestor{p.manager, p.manager2}
			in.AttestationGround = GroundNoValidDocument
		}, nil},
		{"ID-6/attestation allowed: no Swedish personal number", func(in *ReserveIssuanceInput) {
			in.Recipient.PersonalNumber = ident.PersonalNumber{}
			in.Document = nil
			in.Attestors = []Attestor{p.manager, p.manager2}
			in.AttestationGround = GroundNoPersonalNumber
		}, nil},
		{"AT-1/a typed-in attestor without the station's policy", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.Attestors[1].Proof = ProofTyped
		}, []string{"AT-1"}},
		{"AT-1/an attestor who proved nothing", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.Attestors[0].Proof = ""
		}, []string{"AT-1"}},
		{"AT-1/typed-in attestors where the station's policy allows them", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.Attestors[0].Proof, in.Attestors[1].Proof = ProofTyped, ProofTyped
			in.Registry.TypedAttestors = true
		}, nil},
		{"ID-6/attestation refused: no ground recorded", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.AttestationGround = ""
		}, []string{"ID-6"}},
		{"ID-6/attestation refused: an unknown ground", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.AttestationGround = "operator_says_so"
		}, []string{"ID-6"}},
		{"ID-6/attestation refused: 'no personal number' for a recipient who has one", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.AttestationGround = GroundNoPersonalNumber
		}, []string{"ID-6"}},

		{"AT-1/registrar may not attest", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.Attestors[1].Role = RoleRegistrar }, []string{"AT-1"}},
		{"AT-1/security officer may not attest", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.Attestors[0].Role = RoleSecurityOfficer }, []string{"AT-1"}},
		{"AT-1/ID administrator role may not attest", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.Attestors[0].Role = RoleIDAdministrator }, []string{"AT-1"}},
		{"AT-1/an authorised administrator may not attest", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.Attestors[1].HSAID = p.otherAdmin
		}, []string{"AT-1"}},
		{"AT-1/attestor unidentified", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.Attestors[1].Person = Person{} }, []string{"AT-1"}},
		{"AT-2/one attestor", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.Attestors = in.Attestors[:1] }, []string{"AT-2"}},
		{"AT-2/three attestors are enough", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			third := p.manager2
			third.HSAID = hsa(t, "M3")
			in.Attestors = append(in.Attestors, third)
		}, nil},
		{"AT-2/attestor not present", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.Attestors[1].Present = false }, []string{"AT-2"}},
		{"AT-2/recipient not present", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.RecipientPresent = false }, []string{"AT-2"}},
		{"AT-2/the same attestor twice", func(in *ReserveIssuanceInput) { withAttestation(t, in); in.Attestors[1] = in.Attestors[0] }, []string{"AT-2"}},
		{"AT-3/the operator attests", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.Attestors[1].Person = p.operator.Person
		}, []string{"AT-1", "AT-3"}},
		{"AT-3/the operator attests, matched by personal number only", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.Attestors[1].Person = Person{PersonalNumber: p.operator.PersonalNumber}
		}, []string{"AT-3"}},
		{"AT-3/the recipient attests for themself", func(in *ReserveIssuanceInput) {
			withAttestation(t, in)
			in.Attestors[0].Person = Person{HSAID: p.recipient.HSAID}
		}, []string{"AT-3"}},
		{"RE-1/recipient not present with a document", func(in *ReserveIssuanceInput) { in.RecipientPresent = false }, []string{"RE-1"}},

		{"RC-1/reason not in the table", func(in *ReserveIssuanceInput) { in.Reason = "bored" }, []string{"RC-1"}},
		{"RC-1/forgotten: 10 days of 10", func(in *ReserveIssuanceInput) { in.RequestedDays = 10 }, nil},
		{"RC-1/forgotten: 11 days of 10", func(in *ReserveIssuanceInput) { in.RequestedDays = 11 }, []string{"RC-1"}},
		{"RC-1/negative days", func(in *ReserveIssuanceInput) { in.RequestedDays = -1 }, []string{"RC-1"}},
		{"RC-1/stolen: 30 days of 30", func(in *ReserveIssuanceInput) { in.Reason = ReasonStolen; in.RequestedDays = 30 }, nil},
		{"RC-1/lost: 31 days of 30", func(in *ReserveIssuanceInput) { in.Reason = ReasonLost; in.RequestedDays = 31 }, []string{"RC-1"}},
		{"RC-1/flat table of seed 003: forgotten 30 days", func(in *ReserveIssuanceInput) {
			in.Registry.Validity = flatValidityTable(30)
			in.RequestedDays = 30
		}, nil},
		{"RC-1/empty table", func(in *ReserveIssuanceInput) { in.Registry.Validity = nil }, []string{"RC-1"}},
		{"RC-2/waiting for a new card without an order", func(in *ReserveIssuanceInput) { in.Reason = ReasonWaitingForNewCard }, []string{"RC-2"}},
		{"RC-2/waiting for a new card with a regular order", func(in *ReserveIssuanceInput) {
			in.Reason = ReasonWaitingForNewCard
			in.Registry.Orders = []Order{{ID: "O1", Kind: OrderRegular, Status: OrderOpen, CardType: CardSIS, Holder: p.recipient.Person, OrderedAt: at(2024, 5, 1, 10, 0)}}
		}, nil},
		{"RC-2/waiting for a new card: a fulfilled order does not count", func(in *ReserveIssuanceInput) {
			in.Reason = ReasonWaitingForNewCard
			in.Registry.Orders = []Order{{ID: "O1", Kind: OrderRegular, Status: OrderFulfilled, Holder: p.recipient.Person}}
		}, []string{"RC-2"}},
		{"RC-2/temporary assignment without a reserve-card order", func(in *ReserveIssuanceInput) { in.Reason = ReasonTemporaryAssignment }, []string{"RC-2"}},
		{"RC-2/temporary assignment with a reserve-card order", func(in *ReserveIssuanceInput) {
			in.Reason = ReasonTemporaryAssignment
			in.Registry.Orders = []Order{{ID: "O2", Kind: OrderReserve, Status: OrderOpen, Holder: Person{HSAID: p.recipient.HSAID}}}
		}, nil},
		{"RC-3/neither a regular card nor a reserve-card order", func(in *ReserveIssuanceInput) { in.Registry.Cards = nil }, []string{"RC-3"}},
		{"RC-3/a reserve-card order is enough", func(in *ReserveIssuanceInput) {
			in.Registry.Cards = nil
			in.Registry.Orders = []Order{{ID: "O2", Kind: OrderReserve, Status: OrderOpen, Holder: p.recipient.Person}}
		}, nil},
		{"RC-3/a blocked (lost) regular card still counts", func(in *ReserveIssuanceInput) { in.Registry.Cards[0].State = StateBlocked; in.Reason = ReasonLost }, nil},
		{"RC-3/a voided regular card does not count", func(in *ReserveIssuanceInput) { in.Registry.Cards[0].State = StateVoided }, []string{"RC-3"}},
		{"RC-3/another person's card does not count", func(in *ReserveIssuanceInput) { in.Registry.Cards[0].Holder = p.manager.Person }, []string{"RC-3"}},
		{"RC-4/a live reserve card at another station", func(in *ReserveIssuanceInput) {
			in.Registry.Cards = append(in.Registry.Cards, Card{Number: "RK 9", Type: CardReserve, State: StateActivated, Station: "LJB",
				Holder: p.recipient.Person, ValidUntil: at(2024, 6, 10, 0, 0)})
		}, []string{"RC-4"}},
		{"RC-4/a pending reserve card found by HSA-ID", func(in *ReserveIssuanceInput) {
			in.Registry.Cards = append(in.Registry.Cards, Card{Number: "RK 9", Type: CardReserve, State: StateHandedOut, Station: "LJB",
				Holder: Person{HSAID: p.recipient.HSAID}})
		}, []string{"RC-4"}},
		{"RC-4/a reserve card that expired at midnight does not count", func(in *ReserveIssuanceInput) {
			in.Registry.Cards = append(in.Registry.Cards, Card{Number: "RK 9", Type: CardReserve, State: StateActivated,
				Holder: p.recipient.Person, ValidUntil: at(2024, 6, 3, 0, 0)})
		}, nil},
		{"RC-4/a returned reserve card does not count", func(in *ReserveIssuanceInput) {
			in.Registry.Cards = append(in.Registry.Cards, Card{Number: "RK 9", Type: CardReserve, State: StateReturned, Holder: p.recipient.Person})
		}, nil},
		{"RC-9/chip does not match the card handed out", func(in *ReserveIssuanceInput) { in.ChipSerial = "RK000124" }, []string{"RC-9"}},
		{"RC-9/card not read", func(in *ReserveIssuanceInput) { in.ChipSerial = "" }, []string{"RC-9"}},
		{"RC-9/not a reserve card", func(in *ReserveIssuanceInput) { in.Card.Type = CardShortTerm }, []string{"RC-9"}},
		{"RC-9/no card number", func(in *ReserveIssuanceInput) { in.Card.Number = "" }, []string{"RC-9"}},
		{"RC-8/a returned card is not stock", func(in *ReserveIssuanceInput) { in.Card.State = StateReturned }, []string{"RC-8"}},
		{"RC-5/a card already handed out is not stock", func(in *ReserveIssuanceInput) { in.Card.State = StateApproved }, []string{"RC-5"}},
		{"CP-2/no processing time within three years", func(in *ReserveIssuanceInput) {
			in.Registry.StopWindows = append(in.Registry.StopWindows, StopWindow{Kind: TotalStop,
				Window: calendar.Window{Start: at(2024, 6, 3, 15, 45), End: at(2030, 1, 1, 0, 0)}})
			in.Now = at(2024, 6, 3, 15, 30)
			in.Registry.ProcessingMinutes = 60
		}, []string{"CP-2"}},
		{"every violation at once", func(in *ReserveIssuanceInput) {
			in.Now = at(2024, 1, 24, 9, 0)
			in.Registry.AuthorisedAdmins = nil
			in.Document.Damaged = true
			in.RequestedDays = 99
			in.ChipSerial = "X"
			in.Registry.Cards = nil
		}, []string{"AD-1", "CP-3", "ID-2", "RC-1", "RC-3", "RC-9"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := reserveInput(t)
			tt.change(&in)
			_, err := IssueReserve(in)
			wantRules(t, err, tt.want...)
		})
	}
}

func TestIssueReserveDecision(t *testing.T) {
	in := reserveInput(t)
	withAttestation(t, &in)
	d, err := IssueReserve(in)
	if err != nil {
		t.Fatal(err)
	}
	if d.NewState != StateHandedOut || d.CardNumber != "RK 000123" || d.ValidityDays != 10 {
		t.Errorf("decision %+v", d)
	}
	if !d.ValidFrom.Equal(in.Now) || !d.ValidUntil.Equal(at(2024, 6, 13, 0, 0)) || d.ValidThrough != date(2024, 6, 12) {
		t.Errorf("RC-1/validity %v – %v (through %v), want until 2024-06-13 00:00", d.ValidFrom, d.ValidUntil, d.ValidThrough)
	}
	if !d.ExpectedApproval.Equal(in.Now) {
		t.Errorf("CP-2/expected approval %v, want now (Monday 09:00 is processing time)", d.ExpectedApproval)
	}
	if !d.ReceiptDeadline.Equal(at(2024, 6, 11, 0, 0)) {
		t.Errorf("RE-2/receipt deadline %v, want 2024-06-11 00:00", d.ReceiptDeadline)
	}
	// RE-5: the recipient and both attestors are told.
	if len(d.Notifications) != 3 || d.Notifications[0].Role != ToRecipient || !d.Notifications[0].To.Same(in.Recipient.Person) ||
		d.Notifications[1].Role != ToAttestor || !d.Notifications[2].To.Same(in.Attestors[1].Person) {
		t.Fatalf("RE-5/notifications %+v", d.Notifications)
	}
	if msg := d.Notifications[1].Message("sv"); msg != "Reservkort RK 000123 har lämnats ut. Du får besked när det kan aktiveras." {
		t.Errorf("RE-5/message %q", msg)
	}
	// RE-4: the draft receipt holds everything but the signatures.
	r := d.Receipt
	if r.Kind != ReceiptReserveIssuance || r.CardNumber != "RK 000123" || r.Reason != ReasonForgotten || r.Document != nil ||
		len(r.Attestors) != 2 || r.Place != in.Station || !r.At.Equal(in.Now) || !r.ValidUntil.Equal(d.ValidUntil) {
		t.Errorf("RE-4/draft receipt %+v", r)
	}
	vs := CheckReceipt(r, nil)
	if got := vs.Rules(); len(got) != 1 || got[0] != "RE-1" {
		t.Errorf("RE-1/unsigned draft: %v, want only RE-1", vs)
	}
}

// TestReserveValidityDates: an N-day card is valid until 00:00 Stockholm on
// the issue date + N, across DST changes, leap days and New Year.
func TestReserveValidityDates(t *testing.T) {
	tests := []struct {
		name   string
		now    time.Time
		reason Reason
		until  time.Time
		hours  float64 // from 00:00 on the issue date
	}{
		{"RC-1/10 days", at(2024, 6, 3, 9, 0), ReasonForgotten, at(2024, 6, 13, 0, 0), 240},
		{"RC-1/10 days across spring DST (23-hour day)", at(2024, 3, 25, 14, 0), ReasonForgotten, at(2024, 4, 4, 0, 0), 239},
		{"RC-1/10 days across autumn DST (25-hour day)", at(2024, 10, 20, 14, 0), ReasonForgotten, at(2024, 10, 30, 0, 0), 241},
		{"RC-1/issued on the spring DST day", at(2024, 3, 31, 9, 0), ReasonForgotten, at(2024, 4, 10, 0, 0), 239},
		{"RC-1/issued on the autumn DST day", at(2024, 10, 27, 9, 0), ReasonForgotten, at(2024, 11, 6, 0, 0), 241},
		{"RC-1/10 days over New Year", at(2024, 12, 28, 15, 0), ReasonForgotten, at(2025, 1, 7, 0, 0), 240},
		{"RC-1/10 days over a leap day", at(2024, 2, 25, 9, 0), ReasonForgotten, at(2024, 3, 6, 0, 0), 240},
		{"RC-1/10 days without a leap day", at(2023, 2, 25, 9, 0), ReasonForgotten, at(2023, 3, 7, 0, 0), 240},
		{"RC-1/30 days", at(2024, 3, 15, 9, 0), ReasonLost, at(2024, 4, 14, 0, 0), 719},
		{"RC-1/issued one minute before midnight", at(2024, 6, 3, 23, 59), ReasonForgotten, at(2024, 6, 13, 0, 0), 240},
		{"RC-1/issued at midnight", at(2024, 6, 4, 0, 0), ReasonForgotten, at(2024, 6, 14, 0, 0), 240},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := reserveInput(t)
			in.Now, in.Reason = tt.now, tt.reason
			d, err := IssueReserve(in)
			if err != nil {
				t.Fatal(err)
			}
			if !d.ValidUntil.Equal(tt.until) {
				t.Errorf("valid until %v, want %v", d.ValidUntil, tt.until)
			}
			if h := d.ValidUntil.Sub(calendar.DateOf(tt.now).Start()).Hours(); h != tt.hours {
				t.Errorf("%v hours from the start of the issue date, want %v", h, tt.hours)
			}
			if d.ValidThrough != calendar.DateOf(tt.until).AddDays(-1) {
				t.Errorf("valid through %v", d.ValidThrough)
			}
		})
	}
}

func TestIssueReserveExpectedApproval(t *testing.T) {
	tests := []struct {
		name    string
		now     time.Time
		minutes int
		want    time.Time
	}{
		{"CP-2/Friday evening: Monday 07:30", at(2024, 6, 7, 16, 30), 0, at(2024, 6, 10, 7, 30)},
		{"CP-2/lunch: 13:00", at(2024, 6, 4, 12, 10), 0, at(2024, 6, 4, 13, 0)},
		{"CP-2/an hour of handling from 11:30", at(2024, 6, 4, 11, 30), 60, at(2024, 6, 4, 13, 30)},
		{"CP-2/Midsummer Eve: Monday", at(2024, 6, 21, 10, 0), 0, at(2024, 6, 24, 7, 30)},
		{"CP-2/Christmas Eve: 27 December", at(2024, 12, 24, 10, 0), 0, at(2024, 12, 27, 7, 30)},
		{"CP-2/Maundy Thursday after hours: Tuesday after Easter", at(2024, 3, 28, 16, 0), 0, at(2024, 4, 2, 7, 30)},
		{"CP-3/before a total stop: after it", at(2024, 1, 23, 11, 30), 60, at(2024, 1, 25, 13, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := reserveInput(t)
			in.Now = tt.now
			in.Registry.ProcessingMinutes = tt.minutes
			d, err := IssueReserve(in)
			if err != nil {
				t.Fatal(err)
			}
			if !d.ExpectedApproval.Equal(tt.want) {
				t.Errorf("expected approval %s, want %s", calendar.FormatMinute(d.ExpectedApproval), calendar.FormatMinute(tt.want))
			}
		})
	}
	in := reserveInput(t)
	in.Registry.ProcessingMinutes = -5
	_, err := IssueReserve(in)
	wantRules(t, err, "CP-2")
}

func TestValidityTable(t *testing.T) {
	if vs := DefaultValidityTable().Validate(); vs != nil {
		t.Errorf("RC-1/default table: %v", vs)
	}
	bad := ValidityTable{ReasonForgotten: 0, "bored": 10, ReasonLost: MaxReserveDays + 1}
	if vs := bad.Validate(); len(vs) != 3 || !vs.Has("RC-1") {
		t.Errorf("RC-1/bad table: %v", vs)
	}
	if vs := (ValidityTable{}).Validate(); len(vs) != 1 || vs[0].Key != violation.KeyValidityTableEmpty {
		t.Errorf("RC-1/empty table: %v", vs)
	}
	want := map[Reason]int{ReasonForgotten: 10, ReasonStolen: 30, ReasonLost: 30, ReasonBroken: 30, ReasonDamaged: 30,
		ReasonWaitingForNewCard: 30, ReasonTemporaryAssignment: 100}
	for r, days := range want {
		if got, vs := DefaultValidityTable().ReserveDays(r, 0); got != days || vs != nil {
			t.Errorf("RC-1/%s: %d days, %v; want %d", r, got, vs, days)
		}
	}
}

// flatValidityTable gives every reason the same maximum validity.
func flatValidityTable(days int) ValidityTable {
	t := ValidityTable{}
	for _, r := range Reasons() {
		t[r] = days
	}
	return t
}
