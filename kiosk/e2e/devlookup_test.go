package e2e

import (
	"testing"

	"github.com/kortstation/kortstation/kiosk/app"
)

// TestDevStationLookupOfAPersonFromElsewhere (issue 12 item 5): on `make
// run`, a person whose reserve card was issued at another station is not
// in the station's data; the look-up asks the embedded registry, the
// screen says so, shows the card at the other station and refuses (RC-4)
// before any ID data is asked for.
func TestDevStationLookupOfAPersonFromElsewhere(t *testing.T) {
	b := devStation(t, t.TempDir())
	b.Tap(`#menu button[data-flow="issue"]`)
	b.Tap(`#reasons button[data-reason="forgotten"]`)
	findQuery(b, app.DevElsewherePerson)
	b.WaitText("#found-registry", "hämtades från det centrala registret")
	b.WaitText("#found-cards", "ST-ANNAN")
	waitRule(b, "#flow-errors", "RC-4")
	b.WaitText("#flow-step", "Mottagare")
	shot(b, "RC-4-lookup-from-registry")
	cancelFlow(b)
}
