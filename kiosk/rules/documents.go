package rules

import (
	"slices"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// DocumentType is the type of an ID document.
type DocumentType string

// The ID documents the station knows. The first five are the accepted ones
// (ID-1); a foreign passport is only for staff without a Swedish personal
// or coordination number picking up a short-term card (ID-4).
const (
	DocSwedishPassport       DocumentType = "swedish_passport"
	DocSwedishDrivingLicence DocumentType = "swedish_driving_licence"
	DocSISIDCard             DocumentType = "sis_id_card"
	DocNationalIDCard        DocumentType = "national_id_card"
	DocTaxAgencyIDCard       DocumentType = "tax_agency_id_card"
	DocForeignPassport       DocumentType = "foreign_passport"
)

// AcceptedDocumentTypes returns the five accepted ID document types (ID-1).
func AcceptedDocumentTypes() []DocumentType {
	return []DocumentType{DocSwedishPassport, DocSwedishDrivingLicence, DocSISIDCard, DocNationalIDCard, DocTaxAgencyIDCard}
}

// Accepted reports whether t is one of the five accepted types (ID-1).
func (t DocumentType) Accepted() bool { return slices.Contains(AcceptedDocumentTypes(), t) }

// IsPassport reports whether t is a passport, Swedish or foreign.
func (t DocumentType) IsPassport() bool { return t == DocSwedishPassport || t == DocForeignPassport }

// IDDocument is the document that identified someone, as the operator
// records it (ID-5).
type IDDocument struct {
	Type   DocumentType `json:"type"`
	Number string       `json:"number"`
	// Expiry is the last day the document is valid.
	Expiry calendar.Date `json:"expiry"`
	// Damaged is the operator's finding that the document is damaged; a
	// damaged document is not valid, whatever its date (ID-2).
	Damaged bool `json:"damaged"`
}

// CheckDocument checks an ID document presented at now: an accepted type
// (ID-1, or a foreign passport when allowForeignPassport), not damaged
// (ID-2), not expired, and recorded with type, number and expiry (ID-5).
// The expired check uses rule ID-1: an expired document is not a valid one.
func CheckDocument(doc IDDocument, now time.Time, allowForeignPassport bool) Violations {
	var vs Violations
	if !doc.Type.Accepted() && (!allowForeignPassport || doc.Type != DocForeignPassport) {
		vs.Add(violation.New("ID-1", violation.KeyDocTypeNotAccepted, "type", string(doc.Type)))
	}
	if doc.Damaged {
		vs.Add(violation.New("ID-2", violation.KeyDocDamaged))
	}
	if strings.TrimSpace(doc.Number) == "" || doc.Expiry.IsZero() || !doc.Expiry.IsValid() {
		vs.Add(violation.New("ID-5", violation.KeyDocNotRecorded))
	} else if doc.Expiry.Before(calendar.DateOf(now)) {
		vs.Add(violation.New("ID-1", violation.KeyDocExpired, "expiry", doc.Expiry.String()))
	}
	return vs
}

// usable reports whether doc passes CheckDocument at now.
func (doc IDDocument) usable(now time.Time, allowForeign bool) bool {
	return len(CheckDocument(doc, now, allowForeign)) == 0
}

// CheckDocumentForPickup adds ID-3 to CheckDocument: for photography and
// pickup of an ordered card, the document must be valid at least three
// months after the card was ordered — its expiry on or after the order
// date + 3 months.
func CheckDocumentForPickup(doc IDDocument, orderedAt, now time.Time) Violations {
	vs := CheckDocument(doc, now, false)
	need := calendar.DateOf(orderedAt).AddMonths(3)
	if doc.Expiry.IsValid() && doc.Expiry.Before(need) {
		vs.Add(violation.New("ID-3", violation.KeyDocThreeMonths,
			"expiry", doc.Expiry.String(), "ordered", calendar.DateOf(orderedAt).String(), "needed", need.String()))
	}
	return vs
}

// CheckPassportForShortTerm checks the passport of staff without a Swedish
// personal or coordination number (ID-4): a passport (Swedish or foreign),
// undamaged, recorded, valid six months after the card is issued — its
// expiry on or after the issue date + 6 months.
func CheckPassportForShortTerm(doc IDDocument, issuedAt time.Time) Violations {
	var vs Violations
	if !doc.Type.IsPassport() {
		vs.Add(violation.New("ID-4", violation.KeyDocPassportRequired, "type", string(doc.Type)))
	}
	for _, v := range CheckDocument(doc, issuedAt, true) {
		if v.Rule != "ID-1" || v.Key == violation.KeyDocExpired {
			vs.Add(v)
		}
	}
	need := calendar.DateOf(issuedAt).AddMonths(6)
	if doc.Expiry.IsValid() && doc.Expiry.Before(need) {
		vs.Add(violation.New("ID-4", violation.KeyDocSixMonths,
			"expiry", doc.Expiry.String(), "issued", calendar.DateOf(issuedAt).String(), "needed", need.String()))
	}
	return vs
}
