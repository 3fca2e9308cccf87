package e2e

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/kiosk/e2e/browsertest"
)

// overdueReserveB puts reserve card B out with a person since January, its
// validity over since 31 January: overdue (RC-6).
func overdueReserveB() []string {
	return []string{
		`INSERT INTO operator_sessions (id, operator, card_serial, started_at) VALUES ('old', '` + opHSAID + `', 'x', '2026-01-01T09:00:00Z')`,
		`INSERT INTO persons (personal_number, name, created_at) VALUES ('` + digits(pnrForgot) + `', 'Olle Sen', '2026-01-01T09:00:00Z')`,
		`UPDATE cards SET state = 'handed_out', holder = (SELECT id FROM persons WHERE personal_number = '` + digits(pnrForgot) + `'),
			valid_from = '2026-01-01T09:00:00Z', valid_until = '2026-01-31T00:00:00Z' WHERE serial = '` + reserveB + `'`,
		`INSERT INTO issuances (id, kind, card_serial, person_id, session_id, reason, valid_from, valid_until, created_at, clock_source)
			VALUES ('iss-old', 'reserve', '` + reserveB + `', (SELECT id FROM persons WHERE personal_number = '` + digits(pnrForgot) + `'),
			'old', 'lost', '2026-01-01T09:00:00Z', '2026-01-31T00:00:00Z', '2026-01-01T09:00:00Z', 'ntp')`,
	}
}

// TestDayListReprintAndCorrectionRE3RC6 walks the day list as an operator
// uses it after an issuance, at 800×480 (screenshots at both sizes): it
// is reached from the home screen; today's issuance is listed with its
// receipt, found by a part of the name (the search goes over the
// websocket, never into the address); the reserve cards out are listed
// with their last valid day and the overdue one marked (RC-6); the ordered
// cards waiting for pickup too. "Skriv ut igen" prints the stored receipt
// byte for byte (RE-3); "Rätta" makes a new version of the receipt that
// everyone signs again and that refers to the old one (RE-3). At both
// sizes the list scrolls, its head (search, close) stays in view and
// every button is a full touch target.
func TestDayListReprintAndCorrectionRE3RC6(t *testing.T) {
	r := newRig(t, workday, seedStation(workday, overdueReserveB()...))
	b := r.open(browsertest.Sizes[0])
	login(b)

	// An issuance to list.
	issueLostToEvaEk(b)
	b.WaitText("#print-state", "Kvittensen är utskriven")
	b.Tap("#close")
	remove(b, reader1)
	id := r.str(`SELECT id FROM receipts`)
	var stored []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts WHERE id = ?`, id).Scan(&stored); err != nil {
		t.Fatal(err)
	}

	// The day list, from the home screen.
	b.Tap(`#menu button[data-flow="daylist"]`)
	b.WaitText("#flow-step", "Utlämningar, kvittenser och kort ute")
	b.WaitText("#dl-entries", "Eva Ek")
	b.WaitText("#dl-entries", id)
	b.WaitText(`#dl-out li[data-card="`+reserveA+`"]`, "giltigt t.o.m. 2026-04-08")
	b.WaitText(`#dl-out li[data-card="`+reserveB+`"][data-overdue="true"]`, "Försenat")
	b.WaitText(`#dl-pickups li[data-card="`+expiredCard+`"][data-expired="true"]`, "makuleras")
	b.WaitText(`#dl-pickups li[data-card="`+orderedCard+`"][data-expired="false"]`, "hämtas senast")
	shot(b, "daylist")
	usable(b)

	typeText(b, "q", "ek")
	b.Tap("#dl-find")
	b.Run("Olle Sen's card filtered out", chromedp.Poll(`!document.querySelector("#dl-out").textContent.includes("`+reserveB+`")`, nil,
		chromedp.WithPollingInterval(10*time.Millisecond)))
	b.WaitText("#dl-out", reserveA)
	b.WaitText("#dl-entries", "Eva Ek")
	shot(b, "daylist-search")
	var href string
	b.Run("address", chromedp.Evaluate(`location.href`, &href))
	if strings.Contains(strings.ToLower(href), "ek") && !strings.Contains(href, "#k=") || strings.Contains(href, "q=") {
		t.Errorf("the search reached the address: %s", href)
	}
	typeText(b, "q", "zz")
	b.Tap("#dl-find")
	b.WaitText("#dl-entries", "Inget att visa.")
	b.Tap("#dl-clear")
	b.WaitText("#dl-entries", "Eva Ek")
	b.WaitText("#dl-out", reserveB)

	// RE-3: the stored receipt printed again, byte for byte.
	before := len(r.printedFiles())
	b.Tap(`button[data-reprint="` + id + `"]`)
	waitFor(t, func() bool { return len(r.printedFiles()) == before+1 })
	same := 0
	for _, p := range r.printedFiles() {
		if bytes.Equal(p, stored) {
			same++
		}
	}
	if same != 2 {
		t.Errorf("printouts identical to the stored receipt = %d, want 2 (the first print and the reprint)", same)
	}

	// RE-3: a correction is a new version, signed again.
	b.Tap(`button[data-correct="` + id + `"]`)
	b.WaitText("#flow-step", "Rätta kvittensen")
	b.WaitText("#corr-old", id)
	typeText(b, "cname", "ström")
	shot(b, "RE-3-correction")
	b.Tap("#next")
	b.WaitText("#corr-version", "rättar "+id)
	b.WaitText("#sign-who", "Eva Ekström")
	shot(b, "RE-3-correction-sign")
	sign(b, "recipient")
	sign(b, "administrator")
	b.Tap("#complete")
	b.WaitText("#result", "Rättelsen är sparad")
	b.WaitText("#print-state", "Kvittensen är utskriven")
	shot(b, "RE-3-corrected")
	if n := r.count(`SELECT count(*) FROM receipts WHERE corrects = ?`, id); n != 1 {
		t.Errorf("corrections of %s = %d, want 1", id, n)
	}
	var old []byte
	if err := r.db.QueryRow(`SELECT pdf FROM receipts WHERE id = ?`, id).Scan(&old); err != nil || !bytes.Equal(old, stored) {
		t.Errorf("RE-3: the old receipt changed (%v)", err)
	}
	b.Tap("#dl-back")
	b.WaitText("#dl-entries", "version 2")
	b.WaitText("#dl-entries", "Eva Ekström")
	shot(b, "daylist-after-correction")
	usable(b)
}

// usable checks the screen at each size: the flow's head (title, close,
// the search) is in view, the list scrolls under it, and every button is
// a full touch target (at least 44×44 CSS px) that comes into view when
// the list is scrolled to it.
func usable(b *browsertest.Browser) {
	b.T().Helper()
	const check = `(() => {
		const bad = [];
		const inView = (el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight + 0.5 && r.left >= 0 && r.right <= innerWidth + 0.5; };
		for (const sel of ["#flow-title", "#close", "#dl-find"]) {
			const el = document.querySelector(sel);
			if (!el || !inView(el)) bad.push(sel + " not in view");
		}
		const body = document.querySelector(".flowbody");
		if (!body || !["auto", "scroll"].includes(getComputedStyle(body).overflowY)) bad.push("the list does not scroll");
		for (const el of document.querySelectorAll("#flow button")) {
			el.scrollIntoView({ block: "nearest" });
			const r = el.getBoundingClientRect();
			if (r.height < 44 || r.width < 44) bad.push((el.id || el.className || el.textContent) + " is " + Math.round(r.width) + "×" + Math.round(r.height));
			if (!inView(el)) bad.push((el.id || el.className || el.textContent) + " does not come into view");
		}
		if (body) body.scrollTop = 0;
		return bad;
	})()`
	for _, size := range browsertest.Sizes {
		var bad []string
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		err := chromedp.Run(ctx,
			emulation.SetDeviceMetricsOverride(size.Width, size.Height, 1, false),
			chromedp.Sleep(50*time.Millisecond),
			chromedp.Evaluate(check, &bad))
		cancel()
		if err != nil {
			b.T().Fatalf("layout check at %s: %v", size.Name, err)
		}
		if len(bad) > 0 {
			b.T().Errorf("at %s: %s", size.Name, strings.Join(bad, "; "))
		}
	}
	b.Run("back to 800x480", emulation.SetDeviceMetricsOverride(browsertest.Sizes[0].Width, browsertest.Sizes[0].Height, 1, false))
}
