package registry

// The printed contents of a registered-mail envelope (seed 001): the
// cover letter with the recipient's address and what to do, and the
// manual reserve-card receipt the recipient fills in, signs and sends
// back. A4, Swedish (the letter goes to the recipient), drawn with fpdf
// as kiosk/receiptpdf does; deterministic for one envelope (its dates are
// the envelope's registration).

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
)

// reasonSv is a validity-table reason as the letter names it.
var reasonSv = map[string]string{
	"forgotten":            "glömt kort",
	"stolen":               "stulet kort",
	"lost":                 "förlorat kort",
	"broken":               "trasigt kort",
	"damaged":              "skadat kort",
	"waiting_for_new_card": "väntar på nytt SITHS-kort",
	"temporary_assignment": "tillfälligt uppdrag",
}

// EnvelopePDF renders the cover letter and the manual receipt of e.
func EnvelopePDF(e Envelope, returnAddress string) ([]byte, error) {
	created, err := time.Parse(time.RFC3339Nano, e.RegisteredAt)
	if err != nil {
		return nil, fmt.Errorf("registry: envelope pdf: %w", err)
	}
	pdf := fpdf.New("P", "mm", "A4", "")
	tr := pdf.UnicodeTranslatorFromDescriptor("cp1252")
	pdf.SetCreationDate(created.UTC())
	pdf.SetModificationDate(created.UTC())
	pdf.SetCatalogSort(true)
	pdf.SetCreator("Kortstation", false)
	pdf.SetProducer("Kortstation registry", false)
	pdf.SetTitle("Reservkort med rekommenderad post", true)
	pdf.SetLang("sv-SE")
	pdf.SetMargins(20, 20, 20)
	pdf.SetAutoPageBreak(true, 20)
	w := 170.0
	para := func(style string, size float64, s string) {
		pdf.SetFont("Helvetica", style, size)
		pdf.MultiCell(w, size*0.5, tr(s), "", "L", false)
		pdf.Ln(2)
	}
	field := func(label, value string) {
		pdf.SetFont("Helvetica", "B", 10)
		pdf.CellFormat(55, 8, tr(label), "1", 0, "L", false, 0, "")
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(w-55, 8, tr(value), "1", 1, "L", false, 0, "")
	}
	day := created.In(calendar.Stockholm()).Format("2006-01-02")
	reason := reasonSv[e.Reason]
	if reason == "" {
		reason = e.Reason
	}
	pnr := pnrText(e.PersonalNumber)

	// Page 1: the cover letter.
	pdf.AddPage()
	pdf.SetFont("Helvetica", "", 11)
	for _, l := range append([]string{e.Name}, strings.Split(e.Address, "\n")...) {
		pdf.CellFormat(w, 5.5, tr(l), "", 1, "L", false, 0, "")
	}
	pdf.Ln(12)
	para("", 10, day)
	para("B", 14, "Ditt SITHS-reservkort")
	para("", 11, "Hej "+e.Name+",")
	para("", 11, "I det här rekommenderade brevet finns ditt reservkort med kortnummer "+e.CardSerial+
		", ett kuvert med pinkoder och en reservkortskvittens. Reservkortet har tillitsnivå LoA2 och gäller för anledningen: "+reason+".")
	para("", 11, "Gör så här:")
	para("", 11, "1. Kontrollera att kortnumret på kortet är "+e.CardSerial+".\n"+
		"2. Fyll i och underteckna reservkortskvittensen (nästa sida).\n"+
		"3. Skicka tillbaka den undertecknade kvittensen till adressen nedan.\n"+
		"4. När kvittensen har kommit in aktiverar SITHS-handläggaren kortet (identifierad med rekommenderad post). "+
		"Du hämtar sedan certifikatet på Mina sidor, https://minasidor.siths.se.")
	para("", 11, "Kortet kan inte användas innan kvittensen har kommit in. Förvara kortet och pinkoderna åtskilda. "+
		"Reservkortet ska återlämnas så snart ditt ordinarie SITHS-kort finns tillhanda eller uppdraget har avslutats.")
	para("", 11, "Kvittensen skickas till:\n"+returnAddress)
	para("", 11, "Med vänliga hälsningar\nSITHS korthandläggare")
	para("", 8, "Ärende "+e.ID)

	// Page 2: the manual receipt.
	pdf.AddPage()
	para("B", 14, "Reservkortskvittens (manuell)")
	para("", 10, "Utlämnat med rekommenderad post. Fylls i och undertecknas av mottagaren och skickas omgående tillbaka. Ingen blyerts, inga rättelser.")
	field("Kortnummer", e.CardSerial)
	field("Tillitsnivå", "LoA2")
	field("Mottagare", e.Name)
	field("Personnummer", pnr)
	field("Anledning", reason)
	field("ID-sätt", "Identifierad med rekommenderad post")
	field("Skickat", day)
	field("Ärende", e.ID)
	pdf.Ln(6)
	para("", 10, "Jag intygar att jag har tagit emot reservkortet ovan i obrutet kuvert tillsammans med pinkoderna, "+
		"att jag förvarar kortet och koderna åtskilda och att jag återlämnar kortet när det inte längre behövs.")
	pdf.Ln(4)
	for _, l := range []string{"Ort och datum", "Underskrift", "Namnförtydligande"} {
		pdf.SetFont("Helvetica", "", 10)
		pdf.CellFormat(w, 16, "", "B", 1, "L", false, 0, "")
		pdf.CellFormat(w, 6, tr(l), "", 1, "L", false, 0, "")
		pdf.Ln(2)
	}
	para("", 9, "Skicka kvittensen till:\n"+returnAddress)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("registry: envelope pdf: %w", err)
	}
	return buf.Bytes(), nil
}
