package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// typeAsIs taps field, then each character of s as it is on the keys (the
// e-mail keyboard has lower-case letters, '.', '_' and '@').
func typeAsIs(b *browsertest.Browser, field, s string) {
	b.Tap("#f-" + field)
	for _, ch := range s {
		b.Tap(fmt.Sprintf(`#kb button[data-key=%q]`, string(ch)))
	}
}

// TestAdminChangeAtTheStationAD2 walks the administrators screen at both
// sizes: from the home screen, an appointment is typed on the on-screen
// keyboard (HSA-ID, name, e-mail, telephone, the manager's word on the
// training); the manager puts their own SITHS card in the card reader
// and types their PIN; the change is sent to the central service (an
// admin_change event in the outbox, AD-2) and is listed as waiting for
// its decision.
func TestAdminChangeAtTheStationAD2(t *testing.T) {
	for _, size := range browsertest.Sizes {
		t.Run(size.Name, func(t *testing.T) {
			r := newRig(t, workday, seedStation(workday))
			b := r.open(size)
			login(b)
			b.Tap(`#menu button[data-flow="admins"]`)
			b.WaitText("#flow-title", "Administratörer")
			b.WaitText("#ad-admins", "Test Operatör Ett")
			typeText(b, "admin", "SE2321000131-P000000077777")
			typeText(b, "name", "Nora Ny")
			typeAsIs(b, "email", "nora.ny@vgregion.se")
			typeAsIs(b, "phone", "0701234567")
			b.Tap("#ad-trained")
			shot(b, "admins-request-"+size.Name)
			b.Tap("#ad-next")
			b.WaitText("#flow-step", "Chefen bekräftar")
			b.WaitText("#ad-summary", "nora.ny@vgregion.se")
			insert(b, reader1, attestorCard2)
			b.WaitText("#ad-pin", "Chef Chefsson")
			for _, d := range "4567" {
				b.Tap(fmt.Sprintf(`#ad-pin #keypad button[data-key=%q]`, string(d)))
			}
			b.Tap("#ad-pin #pin-ok")
			b.WaitText("#ad-manager", "legitimerad med eget SITHS-kort")
			remove(b, reader1)
			shot(b, "admins-manager-"+size.Name)
			b.Tap("#ad-send")
			b.WaitText("#result", "väntar på beslut")
			b.WaitText("#result", "kan logga in när den centrala tjänsten har godkänt")
			b.Tap("#ad-back")
			b.WaitText("#ad-requests", "Väntar på beslut från den centrala tjänsten")
			shot(b, "admins-pending-"+size.Name)
			if n := r.count(`SELECT count(*) FROM outbox WHERE kind = 'admin_change'`); n != 1 {
				t.Errorf("AD-2: %d admin_change events in the outbox, want 1", n)
			}
			if n := r.count(`SELECT count(*) FROM admin_requests WHERE status = 'pending' AND admin = 'SE2321000131-P000000077777' AND name = 'Nora Ny'`); n != 1 {
				t.Errorf("pending requests %d, want 1", n)
			}
			if strings.Contains(b.Text("#flow"), "admin.") {
				t.Error("a raw key on screen")
			}
		})
	}
}
