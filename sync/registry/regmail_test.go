package registry_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
	"github.com/kortstation/kortstation/sync/registrytest"
)

// Issue 14, item 6: reserve cards issued by registered mail (seed 001),
// done only by central case officers at the registry's console.

// newRegmailConsole is newRoleConsole on the test backend (SQLite or,
// with KORTSTATION_TEST_REGISTRY_DB=postgres, PostgreSQL): a registry with
// its console over TLS, one admin per role, reserve cards RK-1..RK-3
// shipped to ST-1.
func newRegmailConsole(t *testing.T, now time.Time) *roleConsole {
	t.Helper()
	return openRoleConsole(t, now, func(c registry.Config) registry.Config { return registrytest.On(t, c) }, func(ctx context.Context, srv *registry.Server) error {
		if err := srv.AddStation(ctx, "ST-1", ""); err != nil {
			return err
		}
		return srv.Ship(ctx, "ST-1", "SHIP-1", "reserve", "RK-1", "RK-2", "RK-3")
	})
}

// postFile posts a multipart form with file as field "file" (declared as
// typ) as a browser would; returns the status and body.
func (rc *roleConsole) postFile(id, path string, file []byte, typ string) (int, string) {
	rc.t.Helper()
	c := rc.clients[id]
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("csrf", rc.csrf(c))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="kvittens"`)
	h.Set("Content-Type", typ)
	part, _ := mw.CreatePart(h)
	_, _ = part.Write(file)
	_ = mw.Close()
	req, _ := http.NewRequest(http.MethodPost, rc.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", rc.base)
	res, err := c.Do(req)
	if err != nil {
		rc.t.Fatalf("POST %s: %v", path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// envelopeState is the envelope's state at the registry.
func (rc *roleConsole) envelopeState(id string) string {
	rc.t.Helper()
	e, err := rc.srv.Envelope(rc.ctx, id)
	if err != nil {
		rc.t.Fatal(err)
	}
	return e.State
}

// reserveCardsAt are the reserve cards in pnr's facts as station pulls them.
func (rc *roleConsole) reserveCardsAt(station, pnr string) []protocol.ReserveCardFact {
	rc.t.Helper()
	resp, err := rc.srv.Pull(rc.ctx, station, map[string]string{protocol.RefPersonFacts: ""}, 0)
	if err != nil {
		rc.t.Fatal(err)
	}
	var items []protocol.PersonFacts
	if p := resp.Pages[protocol.RefPersonFacts]; len(p.Items) > 0 {
		if err := json.Unmarshal(p.Items, &items); err != nil {
			rc.t.Fatal(err)
		}
	}
	for _, it := range items {
		if it.PersonalNumber == pnr {
			var d protocol.PersonFactsDoc
			if err := json.Unmarshal(it.Facts, &d); err != nil {
				rc.t.Fatal(err)
			}
			return d.ReserveCards
		}
	}
	rc.t.Fatalf("station %s did not receive the person's facts", station)
	return nil
}

func pdfToText(t *testing.T, pdf []byte) string {
	t.Helper()
	cmd := exec.Command("pdftotext", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext (apt-get install poppler-utils): %v", err)
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

// scanPDF is a returned receipt's scan as a scanner makes it (a PDF).
var scanPDF = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")

// TestRegisteredMailIssuance: seed 001's remote issuance by registered
// mail from envelope to activation, by a case officer: the card from
// central stock, the letter and manual receipt printed (PDF, Swedish),
// sent with a tracking number, the signed receipt's scan recorded and
// archived, then activated with the identification method "registered
// mail" (LoA2 only); the reserve card reaches the facts a station pulls
// (RC-4 at every station holding the person, RC-1 validity). Every step
// and every view of personal data is audited, without the personal data.
func TestRegisteredMailIssuance(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	rc := newRegmailConsole(t, now)
	pnr := registry.TestPersonalNumber("19850505", 321)
	const name = "Åsa Öberg"
	// The person has a lost regular card and an order served at ST-1, so
	// ST-1 holds the person's facts.
	if err := rc.srv.SetPersonFactsDoc(rc.ctx, pnr, protocol.PersonFactsDoc{
		RegularCards: []protocol.RegularCardFact{{Serial: "SIS-1", State: "lost"}},
		Orders:       []protocol.OrderFact{{ID: "o-1", Type: "regular", Station: "ST-1"}}}); err != nil {
		t.Fatal(err)
	}
	if got := rc.reserveCardsAt("ST-1", pnr); len(got) != 0 {
		t.Fatalf("reserve cards before: %+v", got)
	}
	form := func(serial, loa string) url.Values {
		return url.Values{"serial": {serial}, "personal_number": {pnr[:8] + "-" + pnr[8:]}, "name": {name},
			"address": {"Åsa Öberg\nStorgatan 1\n123 45 Småstad"}, "reason": {"forgotten"}, "loa": {loa}}
	}

	// LoA3 is refused; so is a card shipped to a station (not central
	// stock). Nothing is stored.
	if code, body := rc.postForm(caseID, "/admin/regmail", form("RM-100", "3")); code != http.StatusBadRequest || !strings.Contains(body, "LoA2") {
		t.Fatalf("LoA3: %d %s", code, body)
	}
	if code, body := rc.postForm(caseID, "/admin/regmail", form("RK-1", "2")); code != http.StatusBadRequest || !strings.Contains(body, "centrala lagret") {
		t.Fatalf("a station's card: %d %s", code, body)
	}
	if es, err := rc.srv.Envelopes(rc.ctx); err != nil || len(es) != 0 {
		t.Fatalf("envelopes after refusals: %+v, %v", es, err)
	}

	// Register.
	code, _ := rc.postForm(caseID, "/admin/regmail", form("RM-100", "2"))
	if code != http.StatusSeeOther {
		t.Fatalf("register: %d", code)
	}
	es, err := rc.srv.Envelopes(rc.ctx)
	if err != nil || len(es) != 1 {
		t.Fatalf("envelopes: %+v, %v", es, err)
	}
	id := es[0].ID
	if es[0].State != registry.EnvelopeRegistered || es[0].PersonalNumber != pnr || es[0].LoA != 2 {
		t.Fatalf("envelope: %+v", es[0])
	}
	// RC-4: no second envelope for the person while this one is out.
	if code, body := rc.postForm(caseID, "/admin/regmail", form("RM-101", "2")); code != http.StatusBadRequest || !strings.Contains(body, "ett reservkort per person") {
		t.Fatalf("second envelope: %d %s", code, body)
	}

	// The envelope's page (Swedish) and the letter with the manual receipt.
	res, page := rc.get(rc.clients[caseID], "/admin/regmail/"+id)
	if res.StatusCode != http.StatusOK || !strings.Contains(page, name) || !strings.Contains(page, "Identifierad med rekommenderad post") || !strings.Contains(page, "Markera som skickat") {
		t.Fatalf("envelope page: %d %s", res.StatusCode, page)
	}
	res, pdf := rc.get(rc.clients[caseID], "/admin/regmail/"+id+"/letter.pdf")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("letter: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	text := pdfToText(t, []byte(pdf))
	for _, want := range []string{"Ditt SITHS-reservkort", "Reservkortskvittens (manuell)", "RM-100", name, pnr[:8] + "-" + pnr[8:], "Identifierad med rekommenderad post", "Storgatan 1", "glömt kort", "Underskrift"} {
		if !strings.Contains(text, want) {
			t.Errorf("letter lacks %q: %s", want, text)
		}
	}

	// Activation before the envelope is sent, or before the receipt is
	// back, is refused.
	if code, body := rc.postForm(caseID, "/admin/regmail/"+id+"/activate", url.Values{}); code != http.StatusBadRequest || !strings.Contains(body, "kvittensen har kommit tillbaka") {
		t.Fatalf("activate before sent: %d %s", code, body)
	}
	if code, _ := rc.postForm(caseID, "/admin/regmail/"+id+"/sent", url.Values{"tracking": {"RR 1234 5678 5SE"}}); code != http.StatusSeeOther {
		t.Fatalf("sent: %d", code)
	}
	if code, _ := rc.postForm(caseID, "/admin/regmail/"+id+"/activate", url.Values{}); code != http.StatusBadRequest {
		t.Fatalf("activate before the receipt: %d", code)
	}
	if st := rc.envelopeState(id); st != registry.EnvelopeSent {
		t.Fatalf("state: %s", st)
	}

	// A scan that is not a PDF or image, declared as a PDF, is refused;
	// so is one over the limit.
	if code, body := rc.postFile(caseID, "/admin/regmail/"+id+"/receipt", []byte("<html><script>alert(1)</script></html>"), "application/pdf"); code != http.StatusBadRequest || !strings.Contains(body, "PDF, PNG eller JPEG") {
		t.Fatalf("html as pdf: %d %s", code, body)
	}
	big := append(append([]byte{}, scanPDF...), bytes.Repeat([]byte{' '}, registry.MaxReceiptScan)...)
	if code, body := rc.postFile(caseID, "/admin/regmail/"+id+"/receipt", big, "application/pdf"); code != http.StatusBadRequest || !strings.Contains(body, "8 MB") {
		t.Fatalf("oversized: %d %s", code, body)
	}
	if st := rc.envelopeState(id); st != registry.EnvelopeSent {
		t.Fatalf("state after refused uploads: %s", st)
	}
	if code, body := rc.postFile(caseID, "/admin/regmail/"+id+"/receipt", scanPDF, "application/pdf"); code != http.StatusSeeOther {
		t.Fatalf("receipt: %d %s", code, body)
	}

	// Activate: the card reaches the facts ST-1 pulls, valid 10 days
	// (RC-1, forgotten).
	rc.now = now.Add(72 * time.Hour)
	if code, body := rc.postForm(caseID, "/admin/regmail/"+id+"/activate", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("activate: %d %s", code, body)
	}
	e, err := rc.srv.Envelope(rc.ctx, id)
	if err != nil || e.State != registry.EnvelopeActivated || e.IDMethod != registry.IDMethodRegisteredMail || e.ActivatedBy != caseID || e.Tracking != "RR123456785SE" {
		t.Fatalf("activated envelope: %+v, %v", e, err)
	}
	cards := rc.reserveCardsAt("ST-1", pnr)
	if len(cards) != 1 || cards[0].Serial != "RM-100" || cards[0].ValidUntil != rc.now.AddDate(0, 0, 10).Format(time.RFC3339) {
		t.Fatalf("reserve cards at ST-1: %+v", cards)
	}
	// RC-4 now holds through the facts: no envelope for the person.
	if code, _ := rc.postForm(caseID, "/admin/regmail", form("RM-102", "2")); code != http.StatusBadRequest {
		t.Fatalf("envelope for a holder: %d", code)
	}
	// The archived receipt stays with the record.
	res, scan := rc.get(rc.clients[caseID], "/admin/regmail/"+id+"/scan")
	if res.StatusCode != http.StatusOK || scan != string(scanPDF) || res.Header.Get("Content-Type") != "application/pdf" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("scan: %d %q", res.StatusCode, res.Header)
	}
	// English on the toggle.
	rc.get(rc.clients[caseID], "/admin/regmail/"+id+"?lang=en")
	if _, page := rc.get(rc.clients[caseID], "/admin/regmail/"+id); !strings.Contains(page, "identified by registered mail") || !strings.Contains(page, "Archived receipt") {
		t.Fatalf("English page: %s", page)
	}

	// The audit trail: every step, by whom, and every view of personal
	// data; never the personal number, name or address.
	for _, k := range []string{"regmail.register", "regmail.sent", "regmail.receipt_returned", "regmail.activate"} {
		var ok int
		for _, d := range rc.auditEntries(k) {
			if d["outcome"] == "ok" && d["actor"] == caseID {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("%s: %d ok entries: %+v", k, ok, rc.auditEntries(k))
		}
	}
	if n := len(rc.auditEntries("personal_data.view")); n < 4 {
		t.Errorf("personal data views audited: %d", n)
	}
	if a := rc.auditText(); strings.Contains(a, pnr) || strings.Contains(a, pnr[:8]+"-"+pnr[8:]) || strings.Contains(a, "Öberg") || strings.Contains(a, "Storgatan") {
		t.Errorf("personal data in the audit trail: %s", a)
	}
}

// TestRegisteredMailRefusals: only case officers (a viewer is refused
// every page and step, audited); no step without the session's CSRF
// token; a cancel needs a reason and frees the card.
func TestRegisteredMailRefusals(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	rc := newRegmailConsole(t, now)
	pnr := registry.TestPersonalNumber("19900101", 123)
	e, err := rc.srv.RegisterEnvelope(rc.ctx, registry.EnvelopeRequest{CardSerial: "RM-200", PersonalNumber: pnr, Name: "Bo Ek", Address: "Bo Ek\nVägen 2\n111 11 Stad", Reason: "lost", LoA: 2}, caseID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/admin/regmail", "/admin/regmail/" + e.ID, "/admin/regmail/" + e.ID + "/letter.pdf"} {
		if res, body := rc.get(rc.clients[viewerID], p); res.StatusCode != http.StatusForbidden || strings.Contains(body, "Bo Ek") {
			t.Errorf("viewer GET %s: %d", p, res.StatusCode)
		}
	}
	for _, p := range []string{"/admin/regmail", "/admin/regmail/" + e.ID + "/sent", "/admin/regmail/" + e.ID + "/cancel"} {
		if code, _ := rc.postForm(viewerID, p, url.Values{"tracking": {"RR123456785SE"}, "reason": {"x"}, "serial": {"RM-201"}}); code != http.StatusForbidden {
			t.Errorf("viewer POST %s: %d", p, code)
		}
		if code, _ := rc.postForm(managerID, p, url.Values{"tracking": {"RR123456785SE"}, "reason": {"x"}, "serial": {"RM-201"}}); code != http.StatusForbidden {
			t.Errorf("station manager POST %s: %d", p, code)
		}
	}
	if code, _ := rc.postFile(viewerID, "/admin/regmail/"+e.ID+"/receipt", scanPDF, "application/pdf"); code != http.StatusForbidden {
		t.Errorf("viewer upload: %d", code)
	}
	// CSRF: a wrong token, and a post from another site.
	if code, _ := rc.postForm(caseID, "/admin/regmail/"+e.ID+"/sent", url.Values{"tracking": {"RR123456785SE"}, "csrf": {"forged"}}); code != http.StatusForbidden {
		t.Errorf("forged CSRF: %d", code)
	}
	if code := rc.post(rc.clients[caseID], "/admin/regmail/"+e.ID+"/sent", url.Values{"tracking": {"RR123456785SE"}, "csrf": {rc.csrf(rc.clients[caseID])}}, func(r *http.Request) {
		r.Header.Set("Origin", "https://evil.example")
	}); code != http.StatusForbidden {
		t.Errorf("cross-site: %d", code)
	}
	if st := rc.envelopeState(e.ID); st != registry.EnvelopeRegistered {
		t.Fatalf("state after refusals: %s", st)
	}
	if n := len(rc.auditEntries("console.view_refused")) + len(rc.auditEntries("regmail.sent")) + len(rc.auditEntries("console.csrf_refused")); n < 5 {
		t.Errorf("refusals audited: %d", n)
	}
	// Cancel: a reason is required; the card is free again afterwards.
	if code, _ := rc.postForm(caseID, "/admin/regmail/"+e.ID+"/cancel", url.Values{"reason": {" "}}); code != http.StatusBadRequest {
		t.Errorf("cancel without a reason: %d", code)
	}
	if code, _ := rc.postForm(caseID, "/admin/regmail/"+e.ID+"/cancel", url.Values{"reason": {"returned undelivered"}}); code != http.StatusSeeOther {
		t.Errorf("cancel: %d", code)
	}
	if code, _ := rc.postForm(caseID, "/admin/regmail/"+e.ID+"/activate", url.Values{}); code != http.StatusBadRequest {
		t.Errorf("activate a cancelled envelope: %d", code)
	}
	if _, err := rc.srv.RegisterEnvelope(rc.ctx, registry.EnvelopeRequest{CardSerial: "RM-200", PersonalNumber: pnr, Name: "Bo Ek", Address: "Bo Ek\nVägen 2\n111 11 Stad", Reason: "lost", LoA: 2}, caseID); err != nil {
		t.Errorf("the card and person after a cancel: %v", err)
	}
}

// TestReceiptScanType: the scan's type is judged by its content.
func TestReceiptScanType(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{scanPDF, "application/pdf"},
		{[]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "image/png"},
		{[]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg"},
		{[]byte("GIF89a......"), ""},
		{[]byte("<!doctype html><p>hi"), ""},
		{[]byte("PK\x03\x04 zip"), ""},
		{nil, ""},
	} {
		got, err := registry.ReceiptScanType(c.b)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("%q: %q, %v", c.b[:min(len(c.b), 8)], got, err)
		}
	}
}

// TestDevConsoleReachesRegisteredMail: on `make run` (the development
// console) the page is linked from the console and works.
func TestDevConsoleReachesRegisteredMail(t *testing.T) {
	rc := newRegmailConsole(t, time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC))
	base, cl, _ := devConsole(t, rc.srv)
	if !strings.Contains(getPage(t, cl, base+"/admin"), `href="/admin/regmail"`) {
		t.Error("the development console does not link registered mail")
	}
	if !strings.Contains(getPage(t, cl, base+"/admin/regmail"), "Registrera kuvert") {
		t.Error("registered mail page on the development console")
	}
}

// TestRegisteredMailCardFollowedUp: a reserve card sent by registered
// mail and not returned when its validity ends is an RC-6 deviation like
// any other (seed 001: "Reservkort som inte återlämnas följs upp och
// rapporteras som avvikelser").
func TestRegisteredMailCardFollowedUp(t *testing.T) {
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	rc := newRegmailConsole(t, now)
	pnr := registry.TestPersonalNumber("19900101", 123)
	e, err := rc.srv.RegisterEnvelope(rc.ctx, registry.EnvelopeRequest{CardSerial: "RM-300", PersonalNumber: pnr, Name: "Bo Ek", Address: "Bo Ek\nVägen 2\n111 11 Stad", Reason: "forgotten", LoA: 2}, caseID)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(rc.srv.MarkEnvelopeSent(rc.ctx, e.ID, "RR123456785SE", caseID),
		rc.srv.RecordReturnedReceipt(rc.ctx, e.ID, scanPDF, caseID),
		rc.srv.ActivateEnvelope(rc.ctx, e.ID, caseID)); err != nil {
		t.Fatal(err)
	}
	rc.now = now.AddDate(0, 0, 9)
	if _, err := rc.srv.RunDeadlines(rc.ctx); err != nil {
		t.Fatal(err)
	}
	if ds, err := rc.srv.Deviations(rc.ctx); err != nil || len(ds) != 0 {
		t.Fatalf("deviations within validity: %+v %v", ds, err)
	}
	rc.now = now.AddDate(0, 0, 11)
	if _, err := rc.srv.RunDeadlines(rc.ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := rc.srv.Deviations(rc.ctx)
	if err != nil || len(ds) != 1 || ds[0].CardSerial != "RM-300" || ds[0].Rule != "RC-6" || ds[0].IssuanceID != registry.RegisteredMailIssuance(e.ID) {
		t.Fatalf("RC-6 deviations: %+v %v", ds, err)
	}
}
