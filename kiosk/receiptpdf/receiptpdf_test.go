package receiptpdf

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pdfText extracts the text of a PDF with poppler's pdftotext, with runs of
// white space collapsed to one space.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatalf("pdftotext not found (%v): install it with: apt-get install -y poppler-utils", err)
	}
	cmd := exec.Command("pdftotext", "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v: %s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("pdftotext complained: %s", stderr.String())
	}
	return strings.Join(strings.Fields(string(out)), " ")
}

func assertContains(t *testing.T, text string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("text lacks %q\ntext: %s", w, text)
		}
	}
}

var formats = []Format{A4, Roll80}

func TestRenderReceiptText(t *testing.T) {
	corrected := documentReceipt()
	corrected.ID = "KV-2026-000125"
	corrected.Corrects = "KV-2026-000123"
	english := documentReceipt()
	english.Lang = English

	cases := []struct {
		name    string
		receipt Receipt
		want    []string
	}{
		{"RE-4/ID document", documentReceipt(), []string{
			"Kvittens – utlämnat reservkort",
			"Kvittens-id KV-2026-000123",
			"Mottagare", "Åsa Öberg-Lindqvist",
			"Person- eller samordningsnummer", "19811218-9876",
			"Kortnummer", "9752270000012345", "Korttyp", "Reservkort",
			"Giltigt från", "2026-03-02", "Giltigt till och med", "2026-04-01",
			"Skäl", "Väntar på nytt SITHS-kort",
			"ID-handling", "Svenskt körkort", "Handlingens nummer", "AB123456",
			"Handlingen giltig till", "2029-06-30",
			"ID-administratör", "Göran Källström", "SE2321000131-P000000012345",
			"Tidpunkt", "2026-03-02 09:41 (UTC+01:00)",
			"Kortstation Växjö 1", "Länssjukhuset, entréplan",
			"Aktivering", "07.30–12.00 och 13.00–16.00", "räkna med godkännande",
			"Underskrifter",
		}},
		{"RE-4/ID-6/attestation without Swedish number", attestedReceipt(), []string{
			"Kvittens – utlämnat korttidskort",
			"Jürgen Ångström",
			"Saknar svenskt person- och samordningsnummer",
			"Uppdrag kortare än sex månader",
			"Intygande av två intygsgivare på plats",
			"Intygsgivare 1", "Märta Sjöö", "SE2321000131-P000000000111",
			"Intygsgivare 2", "Örjan Nyström", "SE2321000131-P000000000222",
			"Intygsgivarna intygar",
		}},
		{"RE-3/correction refers to the old receipt", corrected, []string{
			"Rättelse av kvittens KV-2026-000123",
			"Kvittens-id KV-2026-000125",
		}},
		{"RE-4/English", english, []string{
			"Receipt – issued reserve card",
			"Receipt ID KV-2026-000123",
			"Personal or coordination number", "19811218-9876",
			"Valid until", "2026-04-01", "Waiting for a new SITHS card",
			"Swedish driving licence", "ID administrator", "Göran Källström",
			"Åsa Öberg-Lindqvist",
		}},
	}
	for _, c := range cases {
		for _, f := range formats {
			t.Run(c.name+"/"+string(f), func(t *testing.T) {
				pdf, err := RenderReceipt(c.receipt, f)
				if err != nil {
					t.Fatalf("RenderReceipt: %v", err)
				}
				if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
					t.Fatalf("output does not start with %%PDF-: %q", pdf[:min(len(pdf), 16)])
				}
				assertContains(t, pdfText(t, pdf), c.want...)
			})
		}
	}
}

func TestRenderLetterText(t *testing.T) {
	en := sampleLetter()
	en.Lang = English
	cases := []struct {
		name   string
		letter Letter
		want   []string
	}{
		{"Swedish", sampleLetter(), []string{
			"Information om ditt reservkort",
			"Hej Åsa Öberg-Lindqvist!",
			"Kortnummer", "9752270000012345",
			"Giltigt till och med", "2026-04-01",
			"Aktivering", "räkna med godkännande",
			"Återlämning", "rapporteras som avvikelse",
			"Om kortet kommer bort", "spärras",
			"Servicecenter, telefon 0470-58 80 00",
			"Göran Källström", "Kortstation Växjö 1",
			"KV-2026-000123",
		}},
		{"English", en, []string{
			"About your reserve card", "Hello Åsa Öberg-Lindqvist,",
			"Valid until", "Returning the card", "If the card is lost",
			"KV-2026-000123",
		}},
	}
	for _, c := range cases {
		for _, f := range formats {
			t.Run(c.name+"/"+string(f), func(t *testing.T) {
				pdf, err := RenderLetter(c.letter, f)
				if err != nil {
					t.Fatalf("RenderLetter: %v", err)
				}
				assertContains(t, pdfText(t, pdf), c.want...)
			})
		}
	}
}

var streamRE = regexp.MustCompile(`(?s)stream\n(.*?)\nendstream`)

// contentStreams returns the inflated streams of a PDF written by fpdf.
func contentStreams(t *testing.T, pdf []byte) string {
	t.Helper()
	var all strings.Builder
	for _, m := range streamRE.FindAllSubmatch(pdf, -1) {
		zr, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			all.Write(m[1])
			continue
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("inflating a stream: %v", err)
		}
		all.Write(b)
	}
	return all.String()
}

var (
	moveRE   = regexp.MustCompile(`(?m)^[-0-9.]+ [-0-9.]+ m$`)
	lineRE   = regexp.MustCompile(`(?m)^[-0-9.]+ [-0-9.]+ l$`)
	strokeRE = regexp.MustCompile(`(?m)^S$`)
)

func TestSignatureStrokesAreVectorPaths(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f), func(t *testing.T) {
			base := documentReceipt()
			more := documentReceipt()
			// Three more strokes: 5 points, 2 points and a dot.
			more.Signatures[0].Strokes = append(more.Signatures[0].Strokes,
				[]Point{{0.1, 0.1}, {0.2, 0.3}, {0.3, 0.1}, {0.4, 0.3}, {0.5, 0.1}},
				[]Point{{0.6, 0.6}, {0.9, 0.9}},
				[]Point{{0.95, 0.5}},
			)
			a, err := RenderReceipt(base, f)
			if err != nil {
				t.Fatal(err)
			}
			b, err := RenderReceipt(more, f)
			if err != nil {
				t.Fatal(err)
			}
			ca, cb := contentStreams(t, a), contentStreams(t, b)
			if n := len(moveRE.FindAllString(cb, -1)) - len(moveRE.FindAllString(ca, -1)); n != 3 {
				t.Errorf("3 more strokes added %d moveto (m) operators, want 3", n)
			}
			if n := len(lineRE.FindAllString(cb, -1)) - len(lineRE.FindAllString(ca, -1)); n != 4+1+1 {
				t.Errorf("3 more strokes added %d lineto (l) operators, want 6", n)
			}
			if n := len(strokeRE.FindAllString(cb, -1)) - len(strokeRE.FindAllString(ca, -1)); n != 3 {
				t.Errorf("3 more strokes added %d stroke (S) operators, want 3", n)
			}
			// The base signature: 2 strokes of 12 points.
			if n := len(moveRE.FindAllString(ca, -1)); n < 2 {
				t.Errorf("receipt with a 2-stroke signature has %d moveto operators", n)
			}
			if bytes.Contains(b, []byte("/Subtype /Image")) || regexp.MustCompile(`(?m) Do$`).MatchString(cb) {
				t.Error("the PDF contains an image; signatures must be vector paths")
			}
		})
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	r := attestedReceipt()
	first := map[Format][]byte{}
	for _, f := range formats {
		pdf, err := RenderReceipt(r, f)
		if err != nil {
			t.Fatal(err)
		}
		first[f] = pdf
	}
	time.Sleep(1100 * time.Millisecond) // a date taken from the clock would differ now
	// A stored record read back from JSON renders the same bytes.
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Receipt
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		pdf, err := RenderReceipt(back, f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first[f], pdf) {
			t.Errorf("%s: two renders of the same receipt differ", f)
		}
		if !bytes.Contains(pdf, []byte("/CreationDate (D:20260302084100)")) {
			t.Errorf("%s: creation date is not the issuance time (2026-03-02 08:41 UTC)", f)
		}
		l1, err := RenderLetter(sampleLetter(), f)
		if err != nil {
			t.Fatal(err)
		}
		l2, err := RenderLetter(sampleLetter(), f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(l1, l2) {
			t.Errorf("%s: two renders of the same letter differ", f)
		}
	}
}

var mediaBoxRE = regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`)

func pageSizes(t *testing.T, pdf []byte) [][2]float64 {
	t.Helper()
	var sizes [][2]float64
	for _, m := range mediaBoxRE.FindAllSubmatch(pdf, -1) {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		h, _ := strconv.ParseFloat(string(m[2]), 64)
		sizes = append(sizes, [2]float64{w, h})
	}
	if len(sizes) == 0 {
		t.Fatal("no /MediaBox in the PDF")
	}
	return sizes
}

func TestPageFormats(t *testing.T) {
	const mm = 72 / 25.4
	one, err := RenderReceipt(documentReceipt(), Roll80)
	if err != nil {
		t.Fatal(err)
	}
	three, err := RenderReceipt(attestedReceipt(), Roll80)
	if err != nil {
		t.Fatal(err)
	}
	s1, s3 := pageSizes(t, one), pageSizes(t, three)
	if len(s1) != 1 || len(s3) != 1 {
		t.Fatalf("roll receipts have %d and %d pages, want one each", len(s1), len(s3))
	}
	if w := s1[0][0] / mm; w < 79.9 || w > 80.1 {
		t.Errorf("roll width %.1f mm, want 80", w)
	}
	if s3[0][1] <= s1[0][1]+20*mm {
		t.Errorf("roll with three signatures is %.0f mm tall, with one %.0f mm: height does not follow the content", s3[0][1]/mm, s1[0][1]/mm)
	}
	a4, err := RenderReceipt(attestedReceipt(), A4)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range pageSizes(t, a4) {
		if w, h := s[0]/mm, s[1]/mm; w < 209.9 || w > 210.1 || h < 296.9 || h > 297.1 {
			t.Errorf("A4 page is %.1f x %.1f mm", w, h)
		}
	}
}

func TestRenderRefusesInvalidInput(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(r *Receipt)
		format Format
		field  string
	}{
		{"RE-4/recipient name missing", func(r *Receipt) { r.Recipient.Name = " " }, A4, "recipient.name"},
		{"RE-4/personal number missing", func(r *Receipt) { r.Recipient.PersonalNumber = "" }, A4, "recipient.personalNumber"},
		{"ID-4/number and no-number both set", func(r *Receipt) { r.Recipient.NoSwedishNumber = true }, A4, "recipient.personalNumber"},
		{"RE-4/card number missing", func(r *Receipt) { r.Card.Number = "" }, Roll80, "card.number"},
		{"RE-4/unknown card type", func(r *Receipt) { r.Card.Type = "golden" }, A4, "card.type"},
		{"RE-4/validity missing", func(r *Receipt) { r.Card.ValidUntil = time.Time{} }, A4, "card.validUntil"},
		{"RE-4/validity reversed", func(r *Receipt) { r.Card.ValidUntil = r.Card.ValidFrom.AddDate(0, 0, -1) }, A4, "card.validUntil"},
		{"RE-4/reason missing", func(r *Receipt) { r.Reason = "" }, A4, "reason"},
		{"ID-5/neither document nor attestation", func(r *Receipt) { r.IDDocument = nil }, A4, "idDocument"},
		{"ID-5/document number missing", func(r *Receipt) { r.IDDocument.Number = "" }, A4, "idDocument.number"},
		{"ID-1/unknown document type", func(r *Receipt) { r.IDDocument.Type = "library-card" }, A4, "idDocument.type"},
		{"AT-2/one attestor", func(r *Receipt) {
			r.IDDocument = nil
			r.Attestors = []Person{{Name: "Märta Sjöö", HSAID: "SE2321000131-P000000000111"}}
		}, A4, "attestors"},
		{"RE-4/administrator HSA-ID missing", func(r *Receipt) { r.Administrator.HSAID = "" }, A4, "administrator.hsaId"},
		{"RE-4/station missing", func(r *Receipt) { r.Station.Name = "" }, A4, "station.name"},
		{"RE-4/time missing", func(r *Receipt) { r.IssuedAt = time.Time{} }, A4, "issuedAt"},
		{"RE-1/recipient signature missing", func(r *Receipt) { r.Signatures = nil }, A4, "signatures"},
		{"RE-1/signature without strokes", func(r *Receipt) { r.Signatures[0].Strokes = nil }, A4, "signatures[0].strokes"},
		{"signature point outside the pad", func(r *Receipt) { r.Signatures[0].Strokes[0][3].Y = 1.5 }, A4, "signatures[0].strokes[0][3]"},
		{"signature aspect ratio zero", func(r *Receipt) { r.Signatures[0].AspectRatio = 0 }, A4, "signatures[0].aspectRatio"},
		{"RE-3/receipt corrects itself", func(r *Receipt) { r.Corrects = r.ID }, A4, "corrects"},
		{"receipt ID missing", func(r *Receipt) { r.ID = "" }, A4, "id"},
		{"unknown language", func(r *Receipt) { r.Lang = "de" }, A4, "lang"},
		{"unknown format", func(r *Receipt) {}, "a5", "format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := documentReceipt()
			c.edit(&r)
			pdf, err := RenderReceipt(r, c.format)
			if err == nil {
				t.Fatal("RenderReceipt accepted the input")
			}
			if pdf != nil {
				t.Error("RenderReceipt returned a PDF along with the error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			if fe.Field != c.field {
				t.Errorf("first field error is about %q (%v), want %q", fe.Field, err, c.field)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("error %q does not name the field %q", err, c.field)
			}
		})
	}

	t.Run("letter without activation info", func(t *testing.T) {
		l := sampleLetter()
		l.ActivationInfo = ""
		_, err := RenderLetter(l, Roll80)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "activationInfo" {
			t.Errorf("got %v, want a FieldError for activationInfo", err)
		}
	})
	t.Run("all problems are reported", func(t *testing.T) {
		_, err := RenderReceipt(Receipt{}, A4)
		for _, f := range []string{"id", "recipient.name", "card.number", "reason", "administrator.name", "station.name", "issuedAt", "signatures"} {
			if !strings.Contains(err.Error(), f+" ") {
				t.Errorf("error for an empty receipt does not name %q: %v", f, err)
			}
		}
	})
}

func BenchmarkRenderReceipt(b *testing.B) {
	r := attestedReceipt()
	for _, f := range formats {
		b.Run(string(f), func(b *testing.B) {
			for b.Loop() {
				if _, err := RenderReceipt(r, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
