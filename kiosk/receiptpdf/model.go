// Package receiptpdf renders the issuance receipt (kvittens, RE-4) and the
// hand-out letter that goes with a card as PDF documents.
//
// The package is pure Go and does no I/O: a render function takes a plain
// struct and returns the PDF bytes. The output is deterministic for the same
// input (the document dates come from the issuance time), so a stored PDF can
// be hashed and compared. Two page formats exist: A4 and an 80 mm receipt
// roll whose page height follows the content.
//
// Text is set in the PDF core fonts, which use the cp1252 code page: Swedish
// letters (åäö, ÅÄÖ) and the rest of Western European text come out right; a
// character outside cp1252 is printed as a dot. The stored record (the input
// struct) keeps the exact text.
package receiptpdf

import "time"

// Lang selects the language of the fixed text in a document.
type Lang string

// Languages. The zero value means Swedish.
const (
	Swedish Lang = "sv"
	English Lang = "en"
)

// Format is the page format of a rendered document.
type Format string

// Formats.
const (
	// A4 is an A4 portrait page (or several) with 20 mm margins.
	A4 Format = "a4"
	// Roll80 is one page 80 mm wide, as tall as the content, for a receipt
	// printer with 80 mm paper (72 mm printable width).
	Roll80 Format = "roll80"
)

// CardType is the kind of card handed out.
type CardType string

// Card types.
const (
	CardReserve   CardType = "reserve"    // reservkort
	CardShortTerm CardType = "short-term" // korttidskort
	CardRegular   CardType = "regular"    // SITHS-kort with photo
)

// Reason is why the card was handed out (RC-1).
type Reason string

// Reasons.
const (
	ReasonForgotten           Reason = "forgotten"
	ReasonLost                Reason = "lost"
	ReasonStolen              Reason = "stolen"
	ReasonBroken              Reason = "broken"
	ReasonDamaged             Reason = "damaged"
	ReasonWaitingForNewCard   Reason = "waiting-for-new-card"
	ReasonTemporaryAssignment Reason = "temporary-assignment"
	ReasonShortAssignment     Reason = "short-assignment" // short-term card: assignment under 6 months
	ReasonStudent             Reason = "student"
	ReasonNewCard             Reason = "new-card" // a regular card picked up
)

// DocumentType is the kind of ID document that identified the recipient
// (ID-1, ID-4).
type DocumentType string

// ID document types.
const (
	DocPassport        DocumentType = "passport"
	DocDrivingLicence  DocumentType = "driving-licence"
	DocSISIDCard       DocumentType = "sis-id-card"
	DocNationalIDCard  DocumentType = "national-id-card"
	DocTaxAgencyIDCard DocumentType = "tax-agency-id-card"
	DocForeignPassport DocumentType = "foreign-passport" // ID-4: staff without a Swedish number
)

// Signature roles.
const (
	RoleRecipient     = "recipient"
	RoleAttestor      = "attestor"
	RoleAdministrator = "administrator"
	// RoleManager is the manager present at the pickup of staff without a
	// Swedish number (ID-4).
	RoleManager = "manager"
)

// Point is one sample of a signature stroke, normalised to the signature
// pad: X and Y run from 0 to 1, (0,0) is the pad's top left corner.
type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Signature is a signature drawn on the touchscreen, kept as vector strokes.
// It is drawn into the PDF as path operators, never as a bitmap.
type Signature struct {
	// Role is RoleRecipient, RoleAttestor, RoleManager or RoleAdministrator.
	Role string `json:"role"`
	// Name is the signer's name, printed under the signature.
	Name string `json:"name"`
	// AspectRatio is the pad's width divided by its height.
	AspectRatio float64 `json:"aspectRatio"`
	// Strokes are the pen-down paths in the order drawn; a stroke of one
	// point is a dot.
	Strokes [][]Point `json:"strokes"`
}

// NoSignatureReason is why a recipient cannot sign: a short fixed list,
// never health details.
type NoSignatureReason string

// The reasons the receipt names.
const (
	NoSignCannotWrite  NoSignatureReason = "cannot_write"   // cannot write
	NoSignCannotUsePad NoSignatureReason = "cannot_use_pad" // cannot use the signature pad
	NoSignOther        NoSignatureReason = "other"          // another reason
)

// NoSignature is the statement that replaces the recipient's signature:
// why they cannot sign and who confirmed it.
type NoSignature struct {
	Reason NoSignatureReason `json:"reason"`
	// ConfirmedBy is the attestor who confirmed the statement with their
	// own SITHS card and PIN.
	ConfirmedBy Person `json:"confirmedBy"`
}

// Person is a member of staff known in the HSA catalogue.
type Person struct {
	Name  string `json:"name"`
	HSAID string `json:"hsaId"`
	// Proof is how an attestor proved who they are (AT-1); printed with
	// attestors only.
	Proof Proof `json:"proof,omitempty"`
}

// Proof is how an attestor proved who they are at the station.
type Proof string

// The proofs the receipt names.
const (
	ProofCard  Proof = "siths_card" // their own SITHS card and PIN
	ProofTyped Proof = "typed"      // typed in by the administrator, not verified
)

// Recipient is the person who gets the card.
type Recipient struct {
	Name string `json:"name"`
	// PersonalNumber is the personal or coordination number as it should be
	// printed. Empty exactly when NoSwedishNumber is set.
	PersonalNumber string `json:"personalNumber,omitempty"`
	// NoSwedishNumber marks a recipient without a Swedish personal or
	// coordination number (ID-4).
	NoSwedishNumber bool `json:"noSwedishNumber,omitempty"`
}

// Card is the card handed out.
type Card struct {
	// Number is the serial number printed on the card (RC-9).
	Number     string    `json:"number"`
	Type       CardType  `json:"type"`
	ValidFrom  time.Time `json:"validFrom"`
	ValidUntil time.Time `json:"validUntil"`
}

// IDDocument is the ID document that identified the recipient (ID-5).
type IDDocument struct {
	Type   DocumentType `json:"type"`
	Number string       `json:"number"`
	Expiry time.Time    `json:"expiry"`
}

// Station is where the card was handed out.
type Station struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

// Receipt is the content of an issuance receipt (RE-4). Exactly one of
// IDDocument and Attestors identifies the recipient (ID-6): an ID document,
// or two attestors (AT-2). Staff without a Swedish number picking up a
// short-term card are identified by their passport, with their Manager
// present (ID-4).
type Receipt struct {
	// Lang of the fixed text; empty means Swedish.
	Lang Lang `json:"lang,omitempty"`
	// ID is the receipt's unique ID.
	ID string `json:"id"`
	// Corrects is the ID of the receipt this one corrects (RE-3), if any.
	Corrects string `json:"corrects,omitempty"`

	Recipient  Recipient   `json:"recipient"`
	Card       Card        `json:"card"`
	Reason     Reason      `json:"reason"`
	IDDocument *IDDocument `json:"idDocument,omitempty"`
	Attestors  []Person    `json:"attestors,omitempty"`
	// AttestationGround is why attestors identify the recipient (ID-6),
	// printed with them.
	AttestationGround AttestationGround `json:"attestationGround,omitempty"`
	// Manager is the recipient's manager, present with a valid ID of their
	// own, when a recipient without a Swedish number is identified by a
	// passport (ID-4). It is set only with IDDocument a passport and
	// Recipient.NoSwedishNumber, for a short-term card; the manager signs.
	Manager       *Person `json:"manager,omitempty"`
	Administrator Person  `json:"administrator"`
	Station       Station `json:"station"`
	// IssuedAt is the time of issuance; it is printed in its own time zone
	// and also becomes the PDF's creation date.
	IssuedAt time.Time `json:"issuedAt"`

	// Signatures: the recipient's is required (unless NoSignature records
	// why they could not sign), with attestation one per attestor, and with
	// a Manager the manager's.
	Signatures []Signature `json:"signatures"`
	// NoSignature, when the recipient cannot sign, replaces their
	// signature: the administrator recorded it and an attestor confirmed it
	// with their own SITHS card and PIN. Signatures then has no recipient's
	// signature.
	NoSignature *NoSignature `json:"noSignature,omitempty"`

	// ActivationInfo is an optional paragraph on when approval is expected
	// and how the card is activated (CP-2, RE-5), written by the caller.
	ActivationInfo string `json:"activationInfo,omitempty"`
}

// Letter is the content of the hand-out letter given to the recipient with
// the card.
type Letter struct {
	// Lang of the fixed text; empty means Swedish.
	Lang Lang `json:"lang,omitempty"`
	// ReceiptID is the ID of the receipt of this issuance.
	ReceiptID string `json:"receiptId"`

	RecipientName string    `json:"recipientName"`
	Card          Card      `json:"card"`
	Reason        Reason    `json:"reason"`
	Administrator Person    `json:"administrator"`
	Station       Station   `json:"station"`
	IssuedAt      time.Time `json:"issuedAt"`

	// ActivationInfo is the required paragraph on when approval is expected
	// and how the card is activated (CP-2, RE-5), written by the caller.
	ActivationInfo string `json:"activationInfo"`
	// Contact is an optional line on whom to contact, e.g. to block a lost
	// card.
	Contact string `json:"contact,omitempty"`
}

// AttestationGround is why a recipient is identified by attestation (ID-6).
type AttestationGround string

// The grounds the receipt names.
const (
	GroundNoPersonalNumber AttestationGround = "no_personal_number"
	GroundNoValidDocument  AttestationGround = "no_valid_document"
)
