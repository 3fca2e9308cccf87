package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// TestOperatorLoginAndLogout walks the operator session (AD-1): an
// unauthorised card is refused, a wrong PIN counts down, the right PIN logs
// in; logout by button, by card removal and by idle timeout each lock the
// screen. RC-7: the drawer opened in a session is no alarm.
func TestOperatorLoginAndLogout(t *testing.T) {
	r := newRig(t, workday, seedStation(workday))
	b := r.open(browsertest.Sizes[0])
	b.WaitText("#screen-lock h1", "Sätt i ditt SITHS-kort")
	shot(b, "locked")

	// AD-1: an operator not on the registry's authorised list.
	insert(b, reader0, op2Card)
	waitRule(b, "#login-error", "AD-1")
	shot(b, "AD-1-refused")
	remove(b, reader0)

	insert(b, reader0, opCard)
	b.WaitText("#screen-pin h1", "Ange din PIN-kod – Test Operatör Ett")
	shot(b, "pin")
	pinPad(b, "9999")
	b.WaitText("#pin-error", "Fel PIN. 2 försök kvar")
	shot(b, "wrong-pin")
	pinPad(b, "1234")
	b.WaitText("#screen-home h1", "Vad vill du göra?")
	b.WaitText("#operator", "Test Operatör Ett")
	shot(b, "home")
	if n := r.count(`SELECT count(*) FROM operator_sessions WHERE operator = ? AND ended_at IS NULL`, opHSAID); n != 1 {
		t.Fatalf("open sessions = %d, want 1", n)
	}

	// RC-7: an opening inside the session is not an alarm.
	b.Tap("#dev-drawer-open")
	b.WaitText("#st-drawer", "öppen")
	b.Tap("#dev-drawer-close")
	b.WaitText("#st-drawer", "stängd")
	if n := r.count(`SELECT count(*) FROM drawer_events WHERE alarm = 1`); n != 0 {
		t.Errorf("drawer alarms = %d, want 0", n)
	}

	b.Tap("#logout")
	b.WaitText("#notice", "Du är utloggad")
	shot(b, "logged-out")
	if got := r.str(`SELECT end_reason FROM operator_sessions ORDER BY started_at DESC LIMIT 1`); got != "logout" {
		t.Errorf("end reason = %q, want logout", got)
	}

	// Card removal ends the session.
	remove(b, reader0)
	login(b)
	remove(b, reader0)
	b.WaitText("#notice", "kortet togs ut")
	shot(b, "card-removed")

	// Before the idle lock the screen asks "Mer tid?"; a tap keeps the
	// session.
	login(b)
	r.clock.Advance(4*time.Minute + 10*time.Second)
	b.Run("the idle warning shown", chromedp.WaitVisible("#idle", chromedp.ByQuery))
	b.WaitText("#idle", "låses snart")
	shot(b, "idle-warning")
	b.Tap("#idle-more")
	r.clock.Advance(2 * time.Minute)
	time.Sleep(1500 * time.Millisecond) // a tick of the idle watch
	if got := b.Text("#screen"); !strings.Contains(got, "Vad vill du göra?") {
		t.Fatalf("locked although more time was asked: %q", got)
	}

	// Idle timeout ends the session.
	r.clock.Advance(6 * time.Minute)
	b.WaitText("#notice", "utan aktivitet")
	shot(b, "idle")
	if n := r.count(`SELECT count(*) FROM operator_sessions WHERE end_reason = 'idle'`); n != 1 {
		t.Errorf("idle logouts = %d, want 1", n)
	}
	if n := r.count(`SELECT count(*) FROM operator_sessions WHERE end_reason = 'card_removed'`); n != 1 {
		t.Errorf("card-removed logouts = %d, want 1", n)
	}
	if n := r.count(`SELECT count(*) FROM audit_log WHERE kind = 'session.login'`); n != 3 {
		t.Errorf("login audit entries = %d, want 3", n)
	}
}
