package receiptpdf

import (
	"bytes"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
)

// metrics are the sizes of one page format, in mm and points.
type metrics struct {
	pageW, pageH  float64 // page size; pageH of Roll80 is set per document
	margin        float64 // left, right and top margin
	bottom        float64 // bottom margin (A4: room for the footer)
	labelW        float64 // width of the label column; 0 puts labels above values
	titleSize     float64
	headingSize   float64
	textSize      float64
	labelSize     float64
	lineH         float64 // line height of body text
	sigColumns    int     // signatures side by side
	sigMinH       float64 // signature box height limits
	sigMaxH       float64
	sigCaptionGap float64
}

var (
	a4Metrics = metrics{
		pageW: 210, pageH: 297, margin: 20, bottom: 20, labelW: 62,
		titleSize: 16, headingSize: 11, textSize: 10, labelSize: 9, lineH: 5,
		sigColumns: 3, sigMinH: 16, sigMaxH: 28, sigCaptionGap: 1.5,
	}
	roll80Metrics = metrics{
		pageW: 80, margin: 4, bottom: 6, labelW: 0,
		titleSize: 11, headingSize: 9, textSize: 8.5, labelSize: 7, lineH: 3.8,
		sigColumns: 1, sigMinH: 16, sigMaxH: 30, sigCaptionGap: 1,
	}
)

// rollMeasureHeight is the page height of the measuring pass of a Roll80
// document; it only has to exceed any real document.
const rollMeasureHeight = 3000

// page draws one document with fpdf. Strings are translated to cp1252 for
// the core fonts by text, which every caller must use.
type page struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
	m   metrics
}

// meta is the document information that is not drawn on the page.
type meta struct {
	title   string
	lang    Lang
	created time.Time
}

// newPage starts a document with one page of height h (0 for the format's
// height).
func newPage(m metrics, h float64, md meta, footer func(p *page)) *page {
	if h == 0 {
		h = m.pageH
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           fpdf.SizeType{Wd: m.pageW, Ht: h},
	})
	p := &page{pdf: pdf, m: m}
	p.tr = pdf.UnicodeTranslatorFromDescriptor("cp1252")
	created := md.created.UTC()
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCatalogSort(true)
	pdf.SetCreator("Kortstation", false)
	pdf.SetProducer("Kortstation receiptpdf", false)
	pdf.SetTitle(md.title, true)
	if md.lang == English {
		pdf.SetLang("en")
	} else {
		pdf.SetLang("sv-SE")
	}
	pdf.SetMargins(m.margin, m.margin, m.margin)
	if m.pageH == 0 {
		pdf.SetAutoPageBreak(false, 0)
	} else {
		pdf.SetAutoPageBreak(true, m.bottom)
	}
	if footer != nil {
		pdf.AliasNbPages("")
		pdf.SetFooterFunc(func() { footer(p) })
	}
	pdf.AddPage()
	return p
}

// width is the usable width between the margins.
func (p *page) width() float64 { return p.m.pageW - 2*p.m.margin }

func (p *page) text(s string) string { return p.tr(s) }

func (p *page) font(style string, size float64) {
	p.pdf.SetFont("Helvetica", style, size)
}

// title draws the document title.
func (p *page) title(s string) {
	p.font("B", p.m.titleSize)
	p.pdf.SetTextColor(0, 0, 0)
	p.pdf.MultiCell(p.width(), p.m.titleSize*0.45, p.text(s), "", "L", false)
	p.pdf.Ln(p.m.lineH * 0.6)
}

// heading draws a section heading with a rule under it.
func (p *page) heading(s string) {
	p.keepRoom(4 * p.m.lineH)
	p.pdf.Ln(p.m.lineH * 0.7)
	p.font("B", p.m.headingSize)
	p.pdf.SetTextColor(0, 0, 0)
	p.pdf.CellFormat(p.width(), p.m.lineH+0.5, p.text(s), "", 1, "L", false, 0, "")
	y := p.pdf.GetY()
	p.pdf.SetDrawColor(120, 120, 120)
	p.pdf.SetLineWidth(0.2)
	p.pdf.Line(p.m.margin, y, p.m.margin+p.width(), y)
	p.pdf.Ln(1.2)
}

// field draws a label and its value: side by side on A4, label above value
// on the roll.
func (p *page) field(label, value string) {
	p.keepRoom(2 * p.m.lineH)
	x := p.m.margin
	if p.m.labelW == 0 {
		p.font("", p.m.labelSize)
		p.pdf.SetTextColor(90, 90, 90)
		p.pdf.SetX(x)
		p.pdf.CellFormat(p.width(), p.m.labelSize*0.42, p.text(label), "", 1, "L", false, 0, "")
		p.font("", p.m.textSize)
		p.pdf.SetTextColor(0, 0, 0)
		p.pdf.SetX(x)
		p.pdf.MultiCell(p.width(), p.m.lineH, p.text(value), "", "L", false)
		p.pdf.Ln(0.8)
		return
	}
	y := p.pdf.GetY()
	p.font("", p.m.labelSize)
	p.pdf.SetTextColor(90, 90, 90)
	p.pdf.SetXY(x, y)
	p.pdf.MultiCell(p.m.labelW-2, p.m.lineH, p.text(label), "", "L", false)
	labelEnd := p.pdf.GetY()
	p.font("", p.m.textSize)
	p.pdf.SetTextColor(0, 0, 0)
	p.pdf.SetXY(x+p.m.labelW, y)
	p.pdf.MultiCell(p.width()-p.m.labelW, p.m.lineH, p.text(value), "", "L", false)
	if labelEnd > p.pdf.GetY() {
		p.pdf.SetY(labelEnd)
	}
	p.pdf.Ln(0.6)
}

// paragraph draws running text.
func (p *page) paragraph(s string, bold bool) {
	style := ""
	if bold {
		style = "B"
	}
	p.font(style, p.m.textSize)
	p.pdf.SetTextColor(0, 0, 0)
	p.pdf.SetX(p.m.margin)
	p.pdf.MultiCell(p.width(), p.m.lineH, p.text(s), "", "L", false)
	p.pdf.Ln(1)
}

// boxed draws a paragraph in a frame, for the correction notice.
func (p *page) boxed(s string) {
	p.font("B", p.m.textSize)
	p.pdf.SetTextColor(0, 0, 0)
	p.pdf.SetDrawColor(0, 0, 0)
	p.pdf.SetLineWidth(0.4)
	p.pdf.SetX(p.m.margin)
	p.pdf.MultiCell(p.width(), p.m.lineH, p.text(s), "1", "L", false)
	p.pdf.Ln(1)
}

// keepRoom starts a new page when less than h mm are left on an A4 page.
// A roll page has no breaks.
func (p *page) keepRoom(h float64) {
	if p.m.pageH == 0 {
		return
	}
	if p.pdf.GetY()+h > p.m.pageH-p.m.bottom {
		p.pdf.AddPage()
	}
}

// signatures draws the signatures in a grid of m.sigColumns columns, each a
// box with the strokes, a signature line and a caption.
func (p *page) signatures(sigs []Signature, t *texts) {
	cols := p.m.sigColumns
	gap := 8.0
	colW := (p.width() - gap*float64(cols-1)) / float64(cols)
	captionH := 2*p.m.lineH + p.m.sigCaptionGap
	for row := 0; row < len(sigs); row += cols {
		end := min(row+cols, len(sigs))
		boxH := 0.0
		for _, s := range sigs[row:end] {
			boxH = max(boxH, p.sigBoxHeight(s, colW))
		}
		p.keepRoom(boxH + captionH + 2)
		top := p.pdf.GetY() + 1
		for i, s := range sigs[row:end] {
			x := p.m.margin + float64(i)*(colW+gap)
			drawStrokes(p.pdf, s, x, top, colW, boxH)
			p.pdf.SetDrawColor(0, 0, 0)
			p.pdf.SetLineWidth(0.2)
			p.pdf.Line(x, top+boxH, x+colW, top+boxH)
			p.font("", p.m.labelSize)
			p.pdf.SetTextColor(90, 90, 90)
			p.pdf.SetXY(x, top+boxH+p.m.sigCaptionGap)
			p.pdf.CellFormat(colW, p.m.lineH, p.text(t.roles[s.Role]), "", 2, "L", false, 0, "")
			p.font("", p.m.textSize)
			p.pdf.SetTextColor(0, 0, 0)
			p.pdf.SetX(x)
			p.pdf.CellFormat(colW, p.m.lineH, p.text(s.Name), "", 2, "L", false, 0, "")
		}
		p.pdf.SetXY(p.m.margin, top+boxH+captionH+2)
	}
}

// sigBoxHeight is the height of the box for s in a column w mm wide: the
// pad's shape, within the format's limits.
func (p *page) sigBoxHeight(s Signature, w float64) float64 {
	return min(max(w/s.AspectRatio, p.m.sigMinH), p.m.sigMaxH)
}

// drawStrokes draws the signature's strokes as vector paths, scaled to fit
// the box (x, y, w, h) with the pad's aspect ratio kept and centred.
func drawStrokes(pdf *fpdf.Fpdf, s Signature, x, y, w, h float64) {
	sw, sh := w, w/s.AspectRatio
	if sh > h {
		sw, sh = h*s.AspectRatio, h
	}
	ox, oy := x+(w-sw)/2, y+(h-sh)/2
	pdf.SetDrawColor(10, 20, 90)
	pdf.SetLineWidth(0.35)
	pdf.SetLineCapStyle("round")
	pdf.SetLineJoinStyle("round")
	for _, stroke := range s.Strokes {
		if len(stroke) == 0 {
			continue
		}
		pdf.MoveTo(ox+stroke[0].X*sw, oy+stroke[0].Y*sh)
		if len(stroke) == 1 {
			// A dot: a zero-length line shows as a round cap.
			pdf.LineTo(ox+stroke[0].X*sw, oy+stroke[0].Y*sh)
		}
		for _, pt := range stroke[1:] {
			pdf.LineTo(ox+pt.X*sw, oy+pt.Y*sh)
		}
		pdf.DrawPath("D")
	}
	pdf.SetLineCapStyle("butt")
	pdf.SetLineJoinStyle("miter")
}

// output finishes the document and returns its bytes.
func (p *page) output() ([]byte, error) {
	var buf bytes.Buffer
	if err := p.pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("receiptpdf: writing PDF: %w", err)
	}
	return buf.Bytes(), nil
}

// render draws a document with draw. A4 is drawn once; Roll80 is drawn once
// on a very tall page to measure it and again on a page of that height.
func render(f Format, md meta, draw func(p *page), footer func(p *page)) ([]byte, error) {
	if f == A4 {
		p := newPage(a4Metrics, 0, md, footer)
		draw(p)
		return p.output()
	}
	m := roll80Metrics
	measure := newPage(m, rollMeasureHeight, md, nil)
	draw(measure)
	if err := measure.pdf.Error(); err != nil {
		return nil, fmt.Errorf("receiptpdf: layout: %w", err)
	}
	h := max(measure.pdf.GetY()+m.bottom, m.pageW+1)
	p := newPage(m, h, md, nil)
	draw(p)
	return p.output()
}

// formatDate prints a date in its own time zone.
func formatDate(t time.Time) string { return t.Format("2006-01-02") }

// formatTime prints a time to the minute with its UTC offset.
func formatTime(t time.Time) string {
	return t.Format("2006-01-02 15:04") + " (UTC" + t.Format("-07:00") + ")"
}

// capitalise upper-cases the first letter of s.
func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
