package rules

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
)

func at(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, calendar.Stockholm())
}

func date(y int, m time.Month, d int) calendar.Date { return calendar.NewDate(y, m, d) }

// pnr builds a valid personal number from "YYYYMMDD" and a 3-digit serial.
func pnr(t testing.TB, ymd, serial string) ident.PersonalNumber {
	t.Helper()
	s := ymd + serial
	var d []int
	for _, c := range s[2:] {
		d = append(d, int(c-'0'))
	}
	p, err := ident.ParsePersonalNumber(s + string(rune('0'+ident.Luhn(d))))
	if err != nil {
		t.Fatalf("pnr %s: %v", s, err)
	}
	return p
}

func hsa(t testing.TB, local string) ident.HSAID {
	t.Helper()
	h, err := ident.ParseHSAID("SE2321000131-" + local)
	if err != nil {
		t.Fatalf("hsa %s: %v", local, err)
	}
	return h
}

// people is a cast of characters for the tests.
type people struct {
	recipient         Recipient
	operator          Operator
	otherAdmin        ident.HSAID
	manager, manager2 Attestor
}

func cast(t testing.TB) people {
	return people{
		recipient:  Recipient{Person: Person{PersonalNumber: pnr(t, "19800101", "123"), HSAID: hsa(t, "R1")}, Name: "Rut Mottagare"},
		operator:   Operator{Person: Person{PersonalNumber: pnr(t, "19700505", "555"), HSAID: hsa(t, "OP1")}, Name: "Olle Operatör"},
		otherAdmin: hsa(t, "OP2"),
		manager: Attestor{Person: Person{PersonalNumber: pnr(t, "19650303", "333"), HSAID: hsa(t, "M1")}, Name: "Maja Chef",
			Role: RoleManager, Present: true, Proof: ProofCard,
			Document: &IDDocument{Type: DocSwedishDrivingLicence, Number: "DL1", Expiry: date(2030, 1, 1)}},
		manager2: Attestor{Person: Person{HSAID: hsa(t, "M2")}, Name: "Mats Chef", Role: RoleEmployer, Present: true, Proof: ProofCard},
	}
}

// stops are seed 002's windows: an order stop from 1 December 2023
// through 25 January 2024 and a total stop from 12:00 on 23 January to
// 12:00 on 25 January 2024.
func stops() []StopWindow {
	return []StopWindow{
		{Kind: OrderStop, Window: calendar.Window{Start: at(2023, 12, 1, 0, 0), End: at(2024, 1, 26, 0, 0)}},
		{Kind: TotalStop, Window: calendar.Window{Start: at(2024, 1, 23, 12, 0), End: at(2024, 1, 25, 12, 0)}},
	}
}

// registry is the registry of an ordinary case: the recipient holds an
// activated SIS card, the operator is authorised.
func registry(p people) Registry {
	return Registry{
		Cards: []Card{{Number: "SIS-1", Type: CardSIS, State: StateActivated, Holder: p.recipient.Person,
			IssuedAt: at(2022, 1, 10, 10, 0), ValidUntil: at(2027, 1, 10, 0, 0), ActivatedAt: at(2022, 1, 10, 11, 0)}},
		AuthorisedAdmins: []ident.HSAID{p.operator.HSAID, p.otherAdmin},
		StopWindows:      stops(),
		Validity:         DefaultValidityTable(),
	}
}

// reserveInput is a reserve issuance that breaks no rule: Monday 3 June
// 2024 09:00, forgotten card, Swedish passport.
func reserveInput(t testing.TB) ReserveIssuanceInput {
	p := cast(t)
	return ReserveIssuanceInput{
		Counter: Counter{
			Now:              at(2024, 6, 3, 9, 0),
			Station:          "Växjö, Intern kundservice",
			Operator:         p.operator,
			Recipient:        p.recipient,
			RecipientPresent: true,
			Document:         &IDDocument{Type: DocSwedishPassport, Number: "AA1234567", Expiry: date(2030, 1, 1)},
		},
		Reason:     ReasonForgotten,
		Card:       Card{Number: "RK 000123", Type: CardReserve, State: StateInStock, Station: "VXO"},
		ChipSerial: "rk000123",
		ReceiptID:  "R-1",
		Registry:   registry(p),
	}
}

// withAttestation turns in into an issuance by attestation: no ID
// document, two attestors.
func withAttestation(t testing.TB, in *ReserveIssuanceInput) {
	p := cast(t)
	in.Document = nil
	in.Attestors = []Attestor{p.manager, p.manager2}
	in.AttestationGround = GroundNoValidDocument // ID-6: recorded by the operator
}

// wantRules fails unless err holds violations of exactly the rules given.
func wantRules(t *testing.T, err error, rules ...string) {
	t.Helper()
	if len(rules) == 0 {
		if err != nil {
			t.Fatalf("unexpected violations: %v", err)
		}
		return
	}
	var vs Violations
	if !errors.As(err, &vs) {
		t.Fatalf("error %v is not Violations; want %v", err, rules)
	}
	slices.Sort(rules)
	if got := vs.Rules(); !slices.Equal(got, slices.Compact(rules)) {
		t.Fatalf("violated %v, want %v:\n%s", got, rules, strings.ReplaceAll(vs.Error(), "; ", "\n"))
	}
	for _, v := range vs {
		if v.Message("sv") == string(v.Key) || v.Message("en") == string(v.Key) || strings.Contains(v.Message("sv"), "{") {
			t.Errorf("%s %s: message not rendered: %q", v.Rule, v.Key, v.Message("sv"))
		}
	}
}

func calendarZero() calendar.Date { return calendar.Date{} }

func monthOf(m int) time.Month { return time.Month(m) }
