package rules

import (
	"fmt"
	"testing"
)

// BenchmarkIssueReserve is a full reserve-issuance rule check by
// attestation, against a registry with 20 cards, 10 orders, 50 authorised
// administrators and two stop windows, on a Friday evening so the expected
// approval skips a weekend.
func BenchmarkIssueReserve(b *testing.B) {
	in := reserveInput(b)
	withAttestation(b, &in)
	in.Now = at(2024, 6, 7, 17, 0)
	p := cast(b)
	for i := range 19 {
		in.Registry.Cards = append(in.Registry.Cards, Card{Number: fmt.Sprintf("RK %d", i), Type: CardReserve,
			State: StateReturned, Holder: p.recipient.Person})
	}
	for i := range 10 {
		in.Registry.Orders = append(in.Registry.Orders, Order{ID: fmt.Sprint(i), Kind: OrderRegular, Status: OrderFulfilled, Holder: p.recipient.Person})
	}
	for i := range 48 {
		in.Registry.AuthorisedAdmins = append(in.Registry.AuthorisedAdmins, hsa(b, fmt.Sprintf("ADM%d", i)))
	}
	if _, err := IssueReserve(in); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := IssueReserve(in); err != nil {
			b.Fatal(err)
		}
	}
}
