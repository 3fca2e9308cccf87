package receiptpdf

import (
	"math"
	"time"
)

// stockholm is a fixed +01:00 zone so that the tests do not depend on the
// machine's zone data.
var stockholm = time.FixedZone("CET", 3600)

// zigzag is a signature of n strokes, each a zigzag of m points.
func zigzag(role, name string, n, m int) Signature {
	s := Signature{Role: role, Name: name, AspectRatio: 3}
	for i := range n {
		var stroke []Point
		for j := range m {
			x := 0.05 + 0.9*float64(j)/float64(max(m-1, 1))
			y := 0.2 + 0.15*float64(i) + 0.2*math.Abs(math.Sin(float64(j)))
			stroke = append(stroke, Point{X: x, Y: min(y, 1)})
		}
		s.Strokes = append(s.Strokes, stroke)
	}
	return s
}

// documentReceipt identifies the recipient with an ID document.
func documentReceipt() Receipt {
	return Receipt{
		ID: "KV-2026-000123",
		Recipient: Recipient{
			Name:           "Åsa Öberg-Lindqvist",
			PersonalNumber: "19811218-9876",
		},
		Card: Card{
			Number:     "9752270000012345",
			Type:       CardReserve,
			ValidFrom:  time.Date(2026, 3, 2, 0, 0, 0, 0, stockholm),
			ValidUntil: time.Date(2026, 4, 1, 0, 0, 0, 0, stockholm),
		},
		Reason:        ReasonWaitingForNewCard,
		IDDocument:    &IDDocument{Type: DocDrivingLicence, Number: "AB123456", Expiry: time.Date(2029, 6, 30, 0, 0, 0, 0, stockholm)},
		Administrator: Person{Name: "Göran Källström", HSAID: "SE2321000131-P000000012345"},
		Station:       Station{Name: "Kortstation Växjö 1", Location: "Länssjukhuset, entréplan"},
		IssuedAt:      time.Date(2026, 3, 2, 9, 41, 0, 0, stockholm),
		Signatures: []Signature{
			zigzag(RoleRecipient, "Åsa Öberg-Lindqvist", 2, 12),
		},
		ActivationInfo: "Certifikaten utfärdas vardagar 07.30–12.00 och 13.00–16.00. Du får besked när kortet kan aktiveras; räkna med godkännande före kl. 12.00 i morgon.",
	}
}

// attestedReceipt identifies a recipient without a Swedish number by two
// attestors.
func attestedReceipt() Receipt {
	r := documentReceipt()
	r.ID = "KV-2026-000124"
	r.Recipient = Recipient{Name: "Jürgen Ångström", NoSwedishNumber: true}
	r.Card.Type = CardShortTerm
	r.Reason = ReasonShortAssignment
	r.IDDocument = nil
	r.Attestors = []Person{
		{Name: "Märta Sjöö", HSAID: "SE2321000131-P000000000111"},
		{Name: "Örjan Nyström", HSAID: "SE2321000131-P000000000222"},
	}
	r.Signatures = []Signature{
		zigzag(RoleAttestor, "Märta Sjöö", 1, 8),
		zigzag(RoleRecipient, "Jürgen Ångström", 2, 10),
		zigzag(RoleAttestor, "Örjan Nyström", 3, 6),
	}
	return r
}

func sampleLetter() Letter {
	r := documentReceipt()
	return Letter{
		ReceiptID:      r.ID,
		RecipientName:  r.Recipient.Name,
		Card:           r.Card,
		Reason:         r.Reason,
		Administrator:  r.Administrator,
		Station:        r.Station,
		IssuedAt:       r.IssuedAt,
		ActivationInfo: r.ActivationInfo,
		Contact:        "Servicecenter, telefon 0470-58 80 00",
	}
}
