package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestSecondScreenSeesTheStationInUseAndReloadResumes: the session belongs
// to the screen that logged in. A second browser (holding the kiosk's token)
// shows only that the station is in use elsewhere, with no personal data,
// and cannot move the flow; the first page reloaded mid-flow takes its
// session back and resumes where it was; a refusal is shown in the chosen
// language with its rule (ID-5).
func TestSecondScreenSeesTheStationInUseAndReloadResumes(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	a := r.open(browsertest.Sizes[1])
	b := r.open(browsertest.Sizes[0])
	login(a)
	b.WaitText("#screen-lock", "används på en annan skärm")
	a.Tap(`#menu button[data-flow="issue"]`)
	a.Tap(`#reasons button[data-reason="broken"]`)
	a.WaitText("#flow-step", "Mottagare")
	typeText(a, "find", pnrLost)
	b.WaitText("#screen-lock", "används på en annan skärm")
	if got := b.Text("#screen") + b.Text("#operator"); strings.Contains(got, "Trasigt") || strings.Contains(got, "Test Operatör") {
		t.Errorf("the second screen shows the session: %q", got)
	}
	shot(b, "second-screen-in-use")

	a.Run("reload", chromedp.Reload())
	a.WaitText("#conn", "Ansluten")
	a.WaitText("#flow-step", "Mottagare")
	a.WaitText("#screen", "Trasigt kort – 30 dagar")
	shot(a, "reloaded-resumes")

	// ID-5 in English once the toggle is on; the server's message is the
	// rules package's own English text.
	a.Tap("#lang")
	a.WaitText("#flow-step", "Recipient")
	typeText(a, "find", wrongLuhn(pnrLost))
	a.Tap("#find")
	waitRule(a, "#flow-errors", "ID-5")
	if got := b.Text("#screen"); strings.Contains(got, "Eva") || strings.Contains(got, "19800101") || strings.Contains(got, "ID-5") {
		t.Errorf("the second screen shows the recipient or the refusal: %q", got)
	}
	shot(a, "ID-5-english")
	a.Tap("#lang")

	// Logging out clears the screen; the second screen is a lock screen.
	a.Tap("#logout")
	a.WaitText("#screen-lock h1", "Sätt i ditt SITHS-kort")
	if got := a.Text("#screen"); strings.Contains(got, "Eva") || strings.Contains(got, "19800101") {
		t.Errorf("personal data still on screen after logout: %q", got)
	}
	b.WaitText("#screen-lock h1", "Sätt i ditt SITHS-kort")
	shot(a, "logged-out")
}

// wrongLuhn returns pnr with its check digit off by one (ID-5).
func wrongLuhn(pnr string) string {
	last := pnr[len(pnr)-1]
	return pnr[:len(pnr)-1] + string('0'+(last-'0'+1)%10)
}
