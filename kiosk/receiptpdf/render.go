package receiptpdf

import (
	"fmt"
	"slices"
	"time"
)

// RenderReceipt renders the receipt in format f and returns the PDF. Input
// with a missing or invalid field is refused with errors wrapping
// ErrInvalid (see FieldError); nothing is rendered then.
func RenderReceipt(r Receipt, f Format) ([]byte, error) {
	if err := r.validate(f); err != nil {
		return nil, err
	}
	t, _ := textsFor(r.Lang)
	cardType := t.cardTypes[r.Card.Type]
	md := meta{title: fmt.Sprintf(t.receiptTitle, cardType), lang: r.Lang, created: r.IssuedAt}
	var footer func(p *page)
	if f == A4 {
		footer = func(p *page) {
			p.pdf.SetY(-14)
			p.font("", 8)
			p.pdf.SetTextColor(90, 90, 90)
			p.pdf.CellFormat(p.width(), 4, p.text(fmt.Sprintf(t.footer, r.ID, p.pdf.PageNo(), "{nb}")), "", 0, "C", false, 0, "")
		}
	}
	return render(f, md, func(p *page) { drawReceipt(p, &r, t) }, footer)
}

func drawReceipt(p *page, r *Receipt, t *texts) {
	p.title(fmt.Sprintf(t.receiptTitle, t.cardTypes[r.Card.Type]))
	if r.Corrects != "" {
		p.boxed(fmt.Sprintf(t.correction, r.Corrects))
	}
	p.field(t.receiptID, r.ID)

	p.heading(t.secRecipient)
	p.field(t.name, r.Recipient.Name)
	if r.Recipient.NoSwedishNumber {
		p.field(t.personalNumber, t.noSwedishNumber)
	} else {
		p.field(t.personalNumber, r.Recipient.PersonalNumber)
	}

	p.heading(t.secCard)
	drawCard(p, r.Card, r.Reason, t)

	p.heading(t.secIdent)
	if d := r.IDDocument; d != nil {
		p.field(t.idDocument, t.docTypes[d.Type])
		p.field(t.docNumber, d.Number)
		p.field(t.docExpiry, formatDate(d.Expiry))
	} else if len(r.Attestors) == 0 && r.Manager != nil {
		p.field(t.identifiedBy, t.managerPresent)
		if g, ok := t.grounds[r.AttestationGround]; ok {
			p.field(t.ground, g)
		}
	} else {
		p.field(t.identifiedBy, t.attestation)
		if g, ok := t.grounds[r.AttestationGround]; ok {
			p.field(t.ground, g)
		}
		for i, a := range r.Attestors {
			line := personLine(a, t)
			if pr, ok := t.proofs[a.Proof]; ok {
				line += " (" + pr + ")"
			}
			p.field(fmt.Sprintf(t.attestor, i+1), line)
		}
	}

	if r.Manager != nil {
		p.heading(t.secManager)
		p.field(t.manager, personLine(*r.Manager, t))
	}

	p.heading(t.secIssuer)
	p.field(t.administrator, personLine(r.Administrator, t))

	p.heading(t.secTimePlace)
	drawTimePlace(p, r.IssuedAt, r.Station, t)

	if r.ActivationInfo != "" {
		p.heading(t.secActivation)
		p.paragraph(r.ActivationInfo, false)
	}

	p.heading(t.secSignatures)
	switch {
	case len(r.Attestors) > 0:
		p.paragraph(t.signIntroAttest, false)
	case r.Manager != nil:
		p.paragraph(t.signIntroMgr, false)
	default:
		p.paragraph(t.signIntro, false)
	}
	if ns := r.NoSignature; ns != nil {
		// The statement in place of the recipient's signature.
		p.paragraph(fmt.Sprintf(t.noSignText, t.noSign[ns.Reason], personLine(ns.ConfirmedBy, t)), true)
	}
	p.signatures(orderSignatures(r.Signatures), t)
}

// RenderLetter renders the hand-out letter in format f and returns the PDF.
// Input with a missing or invalid field is refused with errors wrapping
// ErrInvalid (see FieldError); nothing is rendered then.
func RenderLetter(l Letter, f Format) ([]byte, error) {
	if err := l.validate(f); err != nil {
		return nil, err
	}
	t, _ := textsFor(l.Lang)
	cardType := t.cardTypes[l.Card.Type]
	md := meta{title: fmt.Sprintf(t.letterTitle, cardType), lang: l.Lang, created: l.IssuedAt}
	var footer func(p *page)
	if f == A4 {
		footer = func(p *page) {
			p.pdf.SetY(-14)
			p.font("", 8)
			p.pdf.SetTextColor(90, 90, 90)
			p.pdf.CellFormat(p.width(), 4, p.text(fmt.Sprintf(t.letterFooter, l.ReceiptID)), "", 0, "C", false, 0, "")
		}
	}
	return render(f, md, func(p *page) { drawLetter(p, &l, t) }, footer)
}

func drawLetter(p *page, l *Letter, t *texts) {
	cardType := t.cardTypes[l.Card.Type]
	p.title(fmt.Sprintf(t.letterTitle, cardType))
	p.paragraph(fmt.Sprintf(t.greeting, l.RecipientName), false)
	p.paragraph(fmt.Sprintf(t.letterIntro, cardType), false)

	p.heading(t.secCard)
	drawCard(p, l.Card, l.Reason, t)

	p.heading(t.secActivation)
	p.paragraph(l.ActivationInfo, false)

	if l.Card.Type != CardRegular {
		p.heading(t.secReturn)
		p.paragraph(t.returnText, false)
	}
	p.heading(t.secLost)
	p.paragraph(t.lostText, false)
	if l.Contact != "" {
		p.heading(t.secContact)
		p.paragraph(l.Contact, false)
	}

	p.heading(t.secIssuer)
	p.field(t.administrator, l.Administrator.Name)
	drawTimePlace(p, l.IssuedAt, l.Station, t)
	if p.m.pageH == 0 {
		// The roll has no footer: the reference ends the letter.
		p.field(t.receiptID, l.ReceiptID)
	}
}

func drawCard(p *page, c Card, reason Reason, t *texts) {
	p.field(t.cardNumber, c.Number)
	p.field(t.cardType, capitalise(t.cardTypes[c.Type]))
	p.field(t.validFrom, formatDate(c.ValidFrom))
	p.field(t.validUntil, formatDate(c.ValidUntil))
	p.field(t.reason, t.reasons[reason])
}

func drawTimePlace(p *page, at time.Time, s Station, t *texts) {
	p.field(t.time, formatTime(at))
	p.field(t.station, s.Name)
	p.field(t.location, s.Location)
}

func personLine(x Person, t *texts) string {
	return fmt.Sprintf("%s, %s %s", x.Name, t.hsaID, x.HSAID)
}

// orderSignatures puts the recipient first, then the attestors or the
// manager, then the administrator, keeping the given order within a role.
func orderSignatures(sigs []Signature) []Signature {
	rank := map[string]int{RoleRecipient: 0, RoleAttestor: 1, RoleManager: 1, RoleAdministrator: 2}
	out := slices.Clone(sigs)
	slices.SortStableFunc(out, func(a, b Signature) int { return rank[a.Role] - rank[b.Role] })
	return out
}
