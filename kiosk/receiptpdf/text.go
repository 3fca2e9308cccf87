package receiptpdf

// texts holds the fixed text of the documents in one language.
type texts struct {
	receiptTitle    string // %s: card type, lower case
	letterTitle     string // %s: card type, lower case
	correction      string // %s: corrected receipt ID
	secRecipient    string
	secCard         string
	secIdent        string
	secIssuer       string
	secManager      string
	secTimePlace    string
	secSignatures   string
	secActivation   string
	secReturn       string
	secLost         string
	secContact      string
	name            string
	personalNumber  string
	noSwedishNumber string
	cardNumber      string
	cardType        string
	validFrom       string
	validUntil      string
	reason          string
	idDocument      string
	docNumber       string
	docExpiry       string
	identifiedBy    string
	managerPresent  string
	attestation     string
	ground          string
	proofs          map[Proof]string
	grounds         map[AttestationGround]string
	noSign          map[NoSignatureReason]string
	noSignText      string // the statement: the reason, the attestor
	attestor        string // %d: 1 or 2
	hsaID           string
	administrator   string
	time            string
	station         string
	location        string
	receiptID       string
	signIntro       string
	signIntroAttest string
	signIntroMgr    string
	manager         string
	greeting        string // %s: name
	letterIntro     string // %s: card type, lower case
	returnText      string
	lostText        string
	footer          string // %s receipt ID, %d page, %s page count alias
	letterFooter    string // %s receipt ID
	roles           map[string]string
	cardTypes       map[CardType]string
	reasons         map[Reason]string
	docTypes        map[DocumentType]string
}

var swedish = texts{
	receiptTitle:    "Kvittens – utlämnat %s",
	letterTitle:     "Information om ditt %s",
	correction:      "Rättelse av kvittens %s. Denna kvittens ersätter den tidigare; den tidigare kvittensen är inte ändrad.",
	secRecipient:    "Mottagare",
	secCard:         "Kort",
	secIdent:        "Identifiering",
	secIssuer:       "Utfärdare",
	secManager:      "Närvarande chef",
	secTimePlace:    "Tid och plats",
	secSignatures:   "Underskrifter",
	secActivation:   "Aktivering",
	secReturn:       "Återlämning",
	secLost:         "Om kortet kommer bort",
	secContact:      "Kontakt",
	name:            "Namn",
	personalNumber:  "Person- eller samordningsnummer",
	noSwedishNumber: "Saknar svenskt person- och samordningsnummer",
	cardNumber:      "Kortnummer",
	cardType:        "Korttyp",
	validFrom:       "Giltigt från",
	validUntil:      "Giltigt till och med",
	reason:          "Skäl",
	idDocument:      "ID-handling",
	docNumber:       "Handlingens nummer",
	docExpiry:       "Handlingen giltig till",
	identifiedBy:    "Identifierad genom",
	managerPresent:  "Närvarande chef med egen giltig id-handling",
	attestation:     "Intygande av två intygsgivare på plats",
	ground:          "Skäl (ID-6)",
	proofs: map[Proof]string{
		ProofCard:  "verifierad med SITHS-kort och PIN",
		ProofTyped: "inskriven, ej verifierad",
	},
	grounds: map[AttestationGround]string{
		GroundNoValidDocument:  "Mottagaren saknar giltig id-handling",
		GroundNoPersonalNumber: "Mottagaren saknar svenskt personnummer",
	},
	attestor:        "Intygsgivare %d",
	hsaID:           "HSA-id",
	administrator:   "ID-administratör",
	time:            "Tidpunkt",
	station:         "Station",
	location:        "Plats",
	receiptID:       "Kvittens-id",
	signIntro:       "Mottagaren bekräftar med sin underskrift att kortet ovan har lämnats ut och tagits emot.",
	signIntroAttest: "Mottagaren bekräftar med sin underskrift att kortet ovan har lämnats ut och tagits emot. Intygsgivarna intygar med sina underskrifter mottagarens identitet.",
	signIntroMgr:    "Mottagaren bekräftar med sin underskrift att kortet ovan har lämnats ut och tagits emot. Chefen intygar med sin underskrift att hen har varit närvarande och legitimerat sig med en giltig ID-handling.",
	manager:         "Chef",
	greeting:        "Hej %s!",
	letterIntro:     "Du har fått ett %s. Kortet är personligt och får inte lånas ut. Koderna finns i det förseglade kuvertet.",
	returnText:      "Lämna tillbaka kortet så snart ditt ordinarie kort finns tillgängligt eller uppdraget upphör. Ett kort som inte lämnas tillbaka följs upp och rapporteras som avvikelse.",
	lostText:        "Kontakta genast en ID-administratör så att kortet kan spärras.",
	footer:          "Kvittens %s – sida %d av %s",
	letterFooter:    "Hör till kvittens %s",
	noSign: map[NoSignatureReason]string{
		NoSignCannotWrite:  "kan inte skriva",
		NoSignCannotUsePad: "kan inte använda underskriftsrutan",
		NoSignOther:        "annat skäl",
	},
	noSignText: "Mottagaren kan inte skriva under (%s). Kortet har lämnats ut och tagits emot. ID-administratören har registrerat detta i stället för mottagarens underskrift, och intygsgivaren %s har bekräftat det med sitt eget SITHS-kort och sin PIN-kod.",
	roles: map[string]string{
		RoleRecipient:     "Mottagare",
		RoleAttestor:      "Intygsgivare",
		RoleManager:       "Närvarande chef",
		RoleAdministrator: "ID-administratör",
	},
	cardTypes: map[CardType]string{
		CardReserve:   "reservkort",
		CardShortTerm: "korttidskort",
		CardRegular:   "SITHS-kort",
	},
	reasons: map[Reason]string{
		ReasonForgotten:           "Glömt kort",
		ReasonLost:                "Förlorat kort",
		ReasonStolen:              "Stulet kort",
		ReasonBroken:              "Trasigt kort",
		ReasonDamaged:             "Skadat kort",
		ReasonWaitingForNewCard:   "Väntar på nytt SITHS-kort",
		ReasonTemporaryAssignment: "Tillfälligt uppdrag",
		ReasonShortAssignment:     "Uppdrag kortare än sex månader",
		ReasonStudent:             "Student",
		ReasonNewCard:             "Nytt SITHS-kort",
	},
	docTypes: map[DocumentType]string{
		DocPassport:        "Svenskt pass",
		DocDrivingLicence:  "Svenskt körkort",
		DocSISIDCard:       "SIS-märkt ID-kort",
		DocNationalIDCard:  "Nationellt ID-kort",
		DocTaxAgencyIDCard: "Skatteverkets ID-kort",
		DocForeignPassport: "Utländskt pass",
	},
}

var english = texts{
	receiptTitle:    "Receipt – issued %s",
	letterTitle:     "About your %s",
	correction:      "Correction of receipt %s. This receipt replaces the earlier one; the earlier receipt is unchanged.",
	secRecipient:    "Recipient",
	secCard:         "Card",
	secIdent:        "Identification",
	secIssuer:       "Issued by",
	secManager:      "Manager present",
	secTimePlace:    "Time and place",
	secSignatures:   "Signatures",
	secActivation:   "Activation",
	secReturn:       "Returning the card",
	secLost:         "If the card is lost",
	secContact:      "Contact",
	name:            "Name",
	personalNumber:  "Personal or coordination number",
	noSwedishNumber: "No Swedish personal or coordination number",
	cardNumber:      "Card number",
	cardType:        "Card type",
	validFrom:       "Valid from",
	validUntil:      "Valid until",
	reason:          "Reason",
	idDocument:      "ID document",
	docNumber:       "Document number",
	docExpiry:       "Document valid until",
	identifiedBy:    "Identified by",
	managerPresent:  "Their manager, present with a valid ID of their own",
	attestation:     "Attestation by two attestors present",
	ground:          "Ground (ID-6)",
	proofs: map[Proof]string{
		ProofCard:  "verified with SITHS card and PIN",
		ProofTyped: "typed in, not verified",
	},
	grounds: map[AttestationGround]string{
		GroundNoValidDocument:  "The recipient has no valid ID document",
		GroundNoPersonalNumber: "The recipient has no Swedish personal number",
	},
	attestor:        "Attestor %d",
	hsaID:           "HSA-ID",
	administrator:   "ID administrator",
	time:            "Time",
	station:         "Station",
	location:        "Location",
	receiptID:       "Receipt ID",
	signIntro:       "By signing, the recipient confirms that the card above has been handed out and received.",
	signIntroAttest: "By signing, the recipient confirms that the card above has been handed out and received. By signing, the attestors vouch for the recipient's identity.",
	signIntroMgr:    "By signing, the recipient confirms that the card above has been handed out and received. By signing, the manager confirms having been present and identified with a valid ID document.",
	manager:         "Manager",
	greeting:        "Hello %s,",
	letterIntro:     "You have been given a %s. The card is personal and must not be lent to anyone. The codes are in the sealed envelope.",
	returnText:      "Return the card as soon as your regular card is available or your assignment ends. A card that is not returned is followed up and reported as a deviation.",
	lostText:        "Contact an ID administrator at once so that the card can be blocked.",
	footer:          "Receipt %s – page %d of %s",
	letterFooter:    "Belongs to receipt %s",
	noSign: map[NoSignatureReason]string{
		NoSignCannotWrite:  "cannot write",
		NoSignCannotUsePad: "cannot use the signature pad",
		NoSignOther:        "another reason",
	},
	noSignText: "The recipient cannot sign (%s). The card has been handed out and received. The ID administrator recorded this in place of the recipient's signature, and the attestor %s confirmed it with their own SITHS card and PIN.",
	roles: map[string]string{
		RoleRecipient:     "Recipient",
		RoleAttestor:      "Attestor",
		RoleManager:       "Manager present",
		RoleAdministrator: "ID administrator",
	},
	cardTypes: map[CardType]string{
		CardReserve:   "reserve card",
		CardShortTerm: "short-term card",
		CardRegular:   "SITHS card",
	},
	reasons: map[Reason]string{
		ReasonForgotten:           "Forgotten card",
		ReasonLost:                "Lost card",
		ReasonStolen:              "Stolen card",
		ReasonBroken:              "Broken card",
		ReasonDamaged:             "Damaged card",
		ReasonWaitingForNewCard:   "Waiting for a new SITHS card",
		ReasonTemporaryAssignment: "Temporary assignment",
		ReasonShortAssignment:     "Assignment shorter than six months",
		ReasonStudent:             "Student",
		ReasonNewCard:             "New SITHS card",
	},
	docTypes: map[DocumentType]string{
		DocPassport:        "Swedish passport",
		DocDrivingLicence:  "Swedish driving licence",
		DocSISIDCard:       "SIS-approved ID card",
		DocNationalIDCard:  "Swedish national ID card",
		DocTaxAgencyIDCard: "Tax Agency ID card",
		DocForeignPassport: "Foreign passport",
	},
}

// textsFor returns the fixed text for lang; ok is false for an unknown
// language. The empty Lang is Swedish.
func textsFor(lang Lang) (*texts, bool) {
	switch lang {
	case "", Swedish:
		return &swedish, true
	case English:
		return &english, true
	}
	return nil, false
}
