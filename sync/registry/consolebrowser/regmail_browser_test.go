package consolebrowser_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
)

// TestRegisteredMailIssuanceInChromium: issue 14, item 6 (seed 001) from
// envelope to activation in a real Chromium with the case officer's
// SITHS certificate: register the envelope (card from central stock),
// download the cover letter and manual receipt, mark it sent with its
// tracking number, upload the scan of the signed receipt, activate with
// the identification method "registered mail"; the reserve card reaches
// the person facts station ST-1 pulls (RC-4). A viewer is not offered the
// page and is refused it.
func TestRegisteredMailIssuanceInChromium(t *testing.T) {
	x := newIssue14(t)
	pnr := registry.TestPersonalNumber("19720202", 456)
	if err := x.srv.SetPersonFactsDoc(x.ctx, pnr, protocol.PersonFactsDoc{
		RegularCards: []protocol.RegularCardFact{{Serial: "SIS-B", State: "lost"}},
		Orders:       []protocol.OrderFact{{ID: "o-1", Type: "regular", Station: "ST-1"}}}); err != nil {
		t.Fatal(err)
	}
	b := x.browser(x.admins[caseID])
	b.Open(x.origin + "/admin")
	b.Navigating("open registered mail", chromedp.Click(`a[href="/admin/regmail"]`, chromedp.ByQuery))
	_, text := b.Navigating("register", chromedp.Tasks{
		chromedp.SendKeys(`#rm-serial`, "RM-900", chromedp.ByQuery),
		chromedp.SendKeys(`#rm-pnr`, pnr[:8]+"-"+pnr[8:], chromedp.ByQuery),
		chromedp.SendKeys(`#rm-name`, "Cecilia Ström", chromedp.ByQuery),
		chromedp.SetValue(`#rm-address`, "Cecilia Ström\nFjällvägen 3\n840 12 Fjällby", chromedp.ByQuery),
		chromedp.SetValue(`#rm-reason`, "forgotten", chromedp.ByQuery),
		chromedp.Click(`form.regmail-register button`, chromedp.ByQuery),
	})
	es, err := x.srv.Envelopes(x.ctx)
	if err != nil || len(es) != 1 || es[0].State != registry.EnvelopeRegistered {
		t.Fatalf("registered: %+v %v, page %.500s", es, err, text)
	}
	id := es[0].ID
	if !strings.Contains(text, "Cecilia Ström") || !strings.Contains(text, "registrerat") {
		t.Fatalf("envelope page: %.1000s", text)
	}
	var loc string
	b.Run("location", chromedp.Location(&loc))
	if strings.Contains(loc, pnr[:8]) || !strings.HasSuffix(loc, "/admin/regmail/"+id) {
		t.Errorf("URL %s", loc)
	}
	if pdf := download(t, b, `a.letter-pdf`, "reservkort-"+id+".pdf"); !strings.HasPrefix(pdf, "%PDF-") {
		t.Errorf("letter: %.20q", pdf)
	}
	b.Open(x.origin + "/admin/regmail/" + id)
	b.Navigating("mark sent", chromedp.Tasks{
		chromedp.SendKeys(`#rm-tracking`, "RR123456785SE", chromedp.ByQuery),
		chromedp.Click(`form.regmail-sent button`, chromedp.ByQuery),
	})
	scan := filepath.Join(t.TempDir(), "kvittens.pdf")
	if err := os.WriteFile(scan, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, text = b.Navigating("upload the returned receipt", chromedp.Tasks{
		chromedp.SetUploadFiles(`#rm-scan`, []string{scan}, chromedp.ByQuery),
		chromedp.Click(`form.regmail-receipt button`, chromedp.ByQuery),
	})
	if !strings.Contains(text, "kvittens tillbaka") || !strings.Contains(text, "Arkiverad kvittens") {
		t.Fatalf("after upload: %.1500s", text)
	}
	_, text = b.Navigating("activate", chromedp.Click(`form.regmail-activate button`, chromedp.ByQuery))
	if !strings.Contains(text, "aktiverat") || !strings.Contains(text, "Identifierad med rekommenderad post") {
		t.Fatalf("after activation: %.1500s", text)
	}
	if e, err := x.srv.Envelope(x.ctx, id); err != nil || e.State != registry.EnvelopeActivated || e.ActivatedBy != caseID {
		t.Fatalf("activated: %+v %v", e, err)
	}
	resp, err := x.srv.Pull(x.ctx, "ST-1", map[string]string{protocol.RefPersonFacts: ""}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var items []protocol.PersonFacts
	_ = json.Unmarshal(resp.Pages[protocol.RefPersonFacts].Items, &items)
	found := false
	for _, it := range items {
		var d protocol.PersonFactsDoc
		_ = json.Unmarshal(it.Facts, &d)
		found = found || (it.PersonalNumber == pnr && len(d.ReserveCards) == 1 && d.ReserveCards[0].Serial == "RM-900")
	}
	if !found {
		t.Error("RC-4: the activated reserve card is not in the facts ST-1 pulls")
	}
	for _, k := range []string{"regmail.register", "regmail.sent", "regmail.receipt_returned", "regmail.activate", "personal_data.view"} {
		if !x.audited(k, caseID, "ok") && !(k == "personal_data.view" && x.audited(k, caseID, "")) {
			t.Errorf("%s is not audited", k)
		}
	}
	// A viewer is not offered the page, and refused it.
	v := x.browser(x.admins[viewerID])
	if html, _ := v.Open(x.origin + "/admin"); strings.Contains(html, `href="/admin/regmail"`) {
		t.Error("a viewer is offered registered mail")
	}
	if _, text := v.Open(x.origin + "/admin/regmail/" + id); !strings.Contains(text, "Åtkomst nekad") || strings.Contains(text, "Cecilia") {
		t.Errorf("viewer's envelope page: %.200s", text)
	}
}
