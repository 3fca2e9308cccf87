package receiptpdf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// managerReceipt is the pickup of a short-term card by staff without a
// Swedish number: identified by a passport, their manager present (ID-4).
func managerReceipt() Receipt {
	r := documentReceipt()
	r.ID = "KV-2026-000126"
	r.Recipient = Recipient{Name: "Ana Lima", NoSwedishNumber: true}
	r.Card.Type = CardShortTerm
	r.Card.ValidUntil = time.Date(2026, 9, 1, 0, 0, 0, 0, stockholm)
	r.Reason = ReasonNewCard
	r.IDDocument = &IDDocument{Type: DocForeignPassport, Number: "FP1234567", Expiry: time.Date(2027, 1, 31, 0, 0, 0, 0, stockholm)}
	r.Manager = &Person{Name: "Maja Chefsdóttir", HSAID: "SE2321000131-P000000000021"}
	r.Signatures = []Signature{
		zigzag(RoleManager, "Maja Chefsdóttir", 2, 8),
		zigzag(RoleRecipient, "Ana Lima", 2, 10),
		zigzag(RoleAdministrator, "Göran Källström", 1, 9),
	}
	return r
}

func TestRenderReceiptID4ManagerPresent(t *testing.T) {
	english := managerReceipt()
	english.Lang = English
	swedishPassport := managerReceipt()
	swedishPassport.IDDocument.Type = DocPassport
	cases := []struct {
		name    string
		receipt Receipt
		want    []string
	}{
		{"ID-4/foreign passport and manager", managerReceipt(), []string{
			"Kvittens – utlämnat korttidskort",
			"Ana Lima", "Saknar svenskt person- och samordningsnummer",
			"ID-handling", "Utländskt pass", "Handlingens nummer", "FP1234567", "Handlingen giltig till", "2027-01-31",
			"Närvarande chef", "Chef Maja Chefsdóttir, HSA-id SE2321000131-P000000000021",
			"Chefen intygar med sin underskrift",
		}},
		{"ID-4/Swedish passport and manager", swedishPassport, []string{"Svenskt pass", "Närvarande chef", "Maja Chefsdóttir"}},
		{"ID-4/English", english, []string{
			"Receipt – issued short-term card", "No Swedish personal or coordination number",
			"Foreign passport", "FP1234567",
			"Manager present", "Manager Maja Chefsdóttir, HSA-ID SE2321000131-P000000000021",
			"the manager confirms having been present",
		}},
	}
	for _, c := range cases {
		for _, f := range formats {
			t.Run(c.name+"/"+string(f), func(t *testing.T) {
				pdf, err := RenderReceipt(c.receipt, f)
				if err != nil {
					t.Fatalf("RenderReceipt: %v", err)
				}
				text := pdfText(t, pdf)
				assertContains(t, text, c.want...)
				// The manager does not attest in the sense of ID-6.
				if strings.Contains(text, "Intygsgivare") || strings.Contains(text, "Attestor") {
					t.Errorf("the manager is printed as an attestor:\n%s", text)
				}
			})
		}
	}

	t.Run("ID-4/manager signs between recipient and administrator", func(t *testing.T) {
		text := pdfText(t, must(RenderReceipt(managerReceipt(), A4)))
		sig := text[strings.LastIndex(text, "Underskrifter"):]
		i, j, k := strings.Index(sig, "Mottagare"), strings.Index(sig, "Närvarande chef"), strings.Index(sig, "ID-administratör")
		if !(i >= 0 && i < j && j < k) {
			t.Errorf("signature captions out of order (recipient %d, manager %d, administrator %d): %s", i, j, k, sig)
		}
	})
}

func must(pdf []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return pdf
}

func TestRenderReceiptID4RefusesManagerOutOfPlace(t *testing.T) {
	mgr := &Person{Name: "Maja Chef", HSAID: "SE2321000131-P000000000021"}
	cases := []struct {
		name  string
		edit  func(r *Receipt)
		field string
	}{
		{"ID-4/manager for a recipient with a Swedish number", func(r *Receipt) {
			r.Recipient = Recipient{Name: "Åsa Öberg-Lindqvist", PersonalNumber: "19811218-9876"}
		}, "manager"},
		{"ID-4/manager with a driving licence instead of a passport", func(r *Receipt) { r.IDDocument.Type = DocDrivingLicence }, "manager"},
		{"ID-4/manager with attestors instead of a passport", func(r *Receipt) {
			a := attestedReceipt()
			a.Manager = mgr
			a.Signatures = append(a.Signatures, zigzag(RoleManager, mgr.Name, 1, 6))
			*r = a
		}, "manager"},
		{"ID-4/manager for a reserve card", func(r *Receipt) { r.Card.Type = CardReserve }, "manager"},
		{"ID-4/manager without HSA-ID", func(r *Receipt) { r.Manager.HSAID = "" }, "manager.hsaId"},
		{"ID-4/manager without name", func(r *Receipt) { r.Manager.Name = " " }, "manager.name"},
		{"ID-4/manager's signature missing", func(r *Receipt) { r.Signatures = r.Signatures[1:] }, "signatures"},
		{"ID-4/manager's signature without a manager", func(r *Receipt) { r.Manager = nil }, "signatures"},
		{"ID-6/manager and attestors together", func(r *Receipt) {
			r.Attestors = []Person{*mgr, {Name: "Örjan Nyström", HSAID: "SE2321000131-P000000000222"}}
		}, "idDocument"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := managerReceipt()
			c.edit(&r)
			pdf, err := RenderReceipt(r, A4)
			if err == nil || pdf != nil {
				t.Fatalf("RenderReceipt accepted the input (err %v, %d bytes)", err, len(pdf))
			}
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) {
				t.Fatalf("error %v is not a FieldError wrapping ErrInvalid", err)
			}
			if fe.Field != c.field {
				t.Errorf("first field error is about %q (%v), want %q", fe.Field, err, c.field)
			}
		})
	}
}
