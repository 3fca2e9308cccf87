package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestTwoScreensShareTheCounterAndReloadResumes: the server holds the
// flow, so a second browser shows the same step and can move it, a page
// reloaded mid-flow resumes where it was, and a refusal is shown in the
// chosen language with its rule (ID-5).
func TestTwoScreensShareTheCounterAndReloadResumes(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	a := r.open(browsertest.Sizes[1])
	b := r.open(browsertest.Sizes[0])
	login(a)
	b.WaitText("#screen-home h1", "Vad vill du göra?")
	a.Tap(`#menu button[data-flow="issue"]`)
	b.WaitText("#flow-step", "Välj orsak")
	shot(b, "second-screen-follows")
	b.Tap(`#reasons button[data-reason="broken"]`)
	a.WaitText("#flow-step", "Mottagare")
	shot(a, "first-screen-follows")

	a.Run("reload", chromedp.Reload())
	a.WaitText("#conn", "Ansluten")
	a.WaitText("#flow-step", "Mottagare")
	a.WaitText("#screen", "Trasigt kort – 30 dagar")
	shot(a, "reloaded-resumes")

	// ID-5 in English once the toggle is on; the server's message is the
	// rules package's own English text.
	a.Tap("#lang")
	a.WaitText("#flow-step", "Recipient")
	typeText(a, "pnr", wrongLuhn(pnrLost))
	typeText(a, "name", "Eva Ek")
	a.Tap("#next")
	a.WaitText("#flow-errors", "ID-5")
	b.WaitText("#flow-errors", "ID-5")
	if en, sv := a.Text("#flow-errors"), b.Text("#flow-errors"); en == sv {
		t.Errorf("the refusal reads the same in English and Swedish: %q", en)
	}
	shot(a, "ID-5-english")
	shot(b, "ID-5-swedish")
	a.Tap("#lang")

	// Logging out clears both screens.
	b.Tap("#logout")
	a.WaitText("#screen-lock h1", "Sätt i ditt SITHS-kort")
	if got := a.Text("#screen"); strings.Contains(got, "Eva") || strings.Contains(got, "19800101") {
		t.Errorf("personal data still on screen after logout: %q", got)
	}
	shot(a, "logged-out")
}

// wrongLuhn returns pnr with its check digit off by one (ID-5).
func wrongLuhn(pnr string) string {
	last := pnr[len(pnr)-1]
	return pnr[:len(pnr)-1] + string('0'+(last-'0'+1)%10)
}
