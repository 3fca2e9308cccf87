package violation

import "strings"

// Key selects a message text in Swedish and English.
type Key string

// The message keys. Facts a text names as {name} are listed after it.
const (
	// Identity (ID-*).
	KeyPNRFormat             Key = "pnr.format"              // problem
	KeyPNRNeedsCentury       Key = "pnr.needs_century"       //
	KeyPNRPlusWithCentury    Key = "pnr.plus_with_century"   //
	KeyPNRLuhn               Key = "pnr.luhn"                //
	KeyPNRDate               Key = "pnr.date"                //
	KeyPNRFuture             Key = "pnr.future"              //
	KeyHSAIDFormat           Key = "hsaid.format"            // problem
	KeyHSAIDOrgLuhn          Key = "hsaid.org_luhn"          //
	KeyRecipientUnidentified Key = "recipient.unidentified"  //
	KeyRecipientAbsent       Key = "recipient.absent"        //
	KeyIdentificationMissing Key = "identification.missing"  //
	KeyAttestationNotAllowed Key = "attestation.not_allowed" //
	KeyAttestationGround     Key = "attestation.ground"      //
	KeyAttestationGroundPNR  Key = "attestation.ground_pnr"  //
	KeyManagerRequired       Key = "manager.required"        //
	KeyDocTypeNotAccepted    Key = "doc.type"                // type
	KeyDocDamaged            Key = "doc.damaged"             //
	KeyDocExpired            Key = "doc.expired"             // expiry
	KeyDocNotRecorded        Key = "doc.not_recorded"        //
	KeyDocThreeMonths        Key = "doc.three_months"        // expiry, ordered, needed
	KeyDocSixMonths          Key = "doc.six_months"          // expiry, issued, needed
	KeyDocPassportRequired   Key = "doc.passport_required"   // type
	KeyShortTermOnly         Key = "card.short_term_only"    // type

	// Attestation (AT-*).
	KeyAttestorsTooFew      Key = "attestor.too_few"      // have, need
	KeyAttestorAbsent       Key = "attestor.absent"       // attestor
	KeyAttestorUnidentified Key = "attestor.unidentified" // attestor
	KeyAttestorUnverified   Key = "attestor.unverified"   // attestor
	KeyAttestorDuplicate    Key = "attestor.duplicate"    // attestor, other
	KeyAttestorRole         Key = "attestor.role"         // attestor, role
	KeyAttestorIsAdmin      Key = "attestor.is_admin"     // attestor
	KeyAttestorIsOperator   Key = "attestor.is_operator"  // attestor
	KeyAttestorIsRecipient  Key = "attestor.is_recipient" // attestor

	// Reserve cards (RC-*).
	KeyValidityTableEmpty     Key = "validity.table_empty" //
	KeyValidityTableEntry     Key = "validity.table_entry" // reason, days
	KeyReasonNotInTable       Key = "validity.reason"      // reason
	KeyValidityTooLong        Key = "validity.too_long"    // reason, requested, max
	KeyNeedsRegularOrder      Key = "reserve.needs_order"  //
	KeyNeedsReserveOrder      Key = "reserve.needs_reserve_order"
	KeyNoCardNoOrder          Key = "reserve.no_card_no_order"  //
	KeyAlreadyHasReserve      Key = "reserve.already_has"       // card_number, station
	KeyExtensionNotReserve    Key = "extension.not_reserve"     // card_number
	KeyExtensionOtherHolder   Key = "extension.other_holder"    // card_number
	KeyExtensionTwice         Key = "extension.twice"           // extended
	KeyExtensionTooLate       Key = "extension.too_late"        // issued, deadline
	KeyExtensionReason        Key = "extension.reason"          // reason, original
	KeyExtensionValidity      Key = "extension.validity"        // requested, original
	KeyDeviationExpired       Key = "deviation.expired"         // card_number
	KeyDeviationRegularAtHand Key = "deviation.regular_at_hand" // card_number
	KeyChipNotRead            Key = "chip.not_read"             //
	KeyChipMismatch           Key = "chip.mismatch"             // card_number, chip_serial
	KeyCardNumberMissing      Key = "card.number_missing"       //
	KeyCardWrongType          Key = "card.wrong_type"           // type, want
	KeyTransition             Key = "card.transition"           // from, to
	KeyDrawerAlarm            Key = "drawer.alarm"              // opened
	KeyCutWrongType           Key = "cut.wrong_type"            // type

	// Receipts (RE-*).
	KeyReceiptMissing          Key = "receipt.missing"           // field
	KeyReceiptUnsigned         Key = "receipt.unsigned"          //
	KeyReceiptAttestorUnsigned Key = "receipt.attestor_unsigned" // attestor
	KeyReceiptReused           Key = "receipt.reused"            // id
	KeyReceiptSelfCorrection   Key = "receipt.self_correction"   // id
	KeyReceiptEdited           Key = "receipt.edited"            // id
	KeyReceiptNotOverdue       Key = "receipt.not_overdue"       // deadline
	KeyNotifyIssued            Key = "notify.issued"             // card_number
	KeyNotifyApproved          Key = "notify.approved"           // card_number
	KeyNotifyExpiry            Key = "notify.expiry"             // card_number, days, valid_until

	// Central processing (CP-*).
	KeyCentralRejects       Key = "central.rejects"        // rules
	KeyCardUnknown          Key = "central.card_unknown"   // card_number
	KeyCardOtherHolder      Key = "central.card_holder"    // card_number
	KeyCardTypeUnknown      Key = "card.type_unknown"      // type
	KeyOrderNotOpen         Key = "order.not_open"         // order
	KeyOrderOtherHolder     Key = "order.other_holder"     // order
	KeyProcessingInvalid    Key = "processing.invalid"     // problem
	KeyNoProcessingTime     Key = "processing.none"        //
	KeyWindowInvalid        Key = "stop.window_invalid"    // window, problem
	KeyOrderStop            Key = "stop.order"             // start, end
	KeyTotalStop            Key = "stop.total"             // start, end
	KeyPickupDeadlinePassed Key = "pickup.deadline_passed" // deadline

	// Blocking (BL-*).
	KeyBlockReason            Key = "block.reason"             // reason
	KeyCertificatesNotBlocked Key = "block.certificates_first" // card_number, state
	KeyCardBlocked            Key = "block.card_blocked"       // card_number

	// Administrators (AD-*).
	KeyOperatorNoHSAID       Key = "operator.no_hsaid"     //
	KeyOperatorNotAuthorised Key = "operator.unauthorised" //
	KeyAdminNoHSAID          Key = "admin.no_hsaid"        //
	KeyAdminNoManager        Key = "admin.no_manager"      //
	KeyAdminUntrained        Key = "admin.untrained"       //
	KeyAdminChangeIncomplete Key = "admin.incomplete"      //
	KeyAdminChangeKind       Key = "admin.kind"            // kind
)

// text is a message in Swedish and English.
type text struct{ sv, en string }

// catalog holds every message. It is never written after initialisation.
var catalog = map[Key]text{
	KeyPNRFormat: {"Person- eller samordningsnumret har fel form ({problem}). Skriv ÅÅÅÅMMDD-NNNN eller ÅÅMMDD-NNNN.",
		"The personal or coordination number is malformed ({problem}). Enter YYYYMMDD-NNNN or YYMMDD-NNNN."},
	KeyPNRNeedsCentury: {"Numret har tio siffror; århundradet behöver ett referensdatum. Skriv tolv siffror.",
		"The number has ten digits; its century needs a reference date. Enter twelve digits."},
	KeyPNRPlusWithCentury: {"Plustecken används bara i den tiosiffriga formen.",
		"The plus sign belongs only to the ten-digit form."},
	KeyPNRLuhn: {"Kontrollsiffran stämmer inte. Kontrollera numret.",
		"The check digit does not match. Check the number."},
	KeyPNRDate: {"Födelsedatumet i numret finns inte.",
		"The date of birth in the number does not exist."},
	KeyPNRFuture: {"Födelsedatumet i numret ligger i framtiden.",
		"The date of birth in the number is in the future."},
	KeyHSAIDFormat: {"HSA-id:t har fel form ({problem}). Exempel: SE2321000131-P000000012345.",
		"The HSA-ID is malformed ({problem}). Example: SE2321000131-P000000012345."},
	KeyHSAIDOrgLuhn: {"Organisationsnumret i HSA-id:t har fel kontrollsiffra.",
		"The organisation number in the HSA-ID has a wrong check digit."},
	KeyRecipientUnidentified: {"Mottagaren saknar person-, samordningsnummer och HSA-id.",
		"The recipient has no personal number, coordination number or HSA-ID."},
	KeyRecipientAbsent: {"Mottagaren måste vara närvarande; utlämning utan mottagaren är inte tillåten.",
		"The recipient must be present; issuing without the recipient is not allowed."},
	KeyIdentificationMissing: {"Mottagaren måste legitimera sig med en giltig id-handling, eller med intygsgivning om giltig id-handling eller svenskt personnummer saknas.",
		"The recipient must show a valid ID document, or be attested if they lack a valid ID document or a Swedish personal number."},
	KeyAttestationNotAllowed: {"Mottagaren har svenskt personnummer och giltig id-handling; intygsgivning får inte användas.",
		"The recipient has a Swedish personal number and a valid ID document; attestation must not be used."},
	KeyAttestationGround: {"Ange varför intygsgivare används: mottagaren saknar giltig id-handling eller saknar svenskt personnummer.",
		"Record why attestors are used: the recipient has no valid ID document or no Swedish personal number."},
	KeyAttestationGroundPNR: {"Mottagaren har ett svenskt personnummer; intygsgivning på den grunden får inte användas.",
		"The recipient has a Swedish personal number; attestation on that ground must not be used."},
	KeyManagerRequired: {"Mottagarens chef måste vara personligen närvarande med egen giltig id-handling.",
		"The recipient's manager must be present in person with their own valid ID document."},
	KeyDocTypeNotAccepted: {"Id-handlingen ({type}) godtas inte. Godkända är svenskt pass, svenskt körkort, SIS-märkt id-kort, nationellt id-kort och Skatteverkets id-kort.",
		"The ID document ({type}) is not accepted. Accepted are a Swedish passport, Swedish driving licence, SIS-approved ID card, national ID card and the Tax Agency's ID card."},
	KeyDocDamaged: {"Id-handlingen är skadad och därför inte giltig.",
		"The ID document is damaged and therefore not valid."},
	KeyDocExpired: {"Id-handlingen gick ut {expiry}.",
		"The ID document expired on {expiry}."},
	KeyDocNotRecorded: {"Ange id-handlingens typ, nummer och giltighetstid.",
		"Record the ID document's type, number and expiry date."},
	KeyDocThreeMonths: {"Id-handlingen måste gälla minst tre månader efter beställningen ({ordered}), till och med {needed}; den gäller till {expiry}.",
		"The ID document must be valid at least three months after the order ({ordered}), through {needed}; it expires on {expiry}."},
	KeyDocSixMonths: {"Passet måste gälla sex månader efter utlämningen ({issued}), till och med {needed}; det gäller till {expiry}.",
		"The passport must be valid six months after issue ({issued}), through {needed}; it expires on {expiry}."},
	KeyDocPassportRequired: {"Personal utan svenskt person- eller samordningsnummer legitimerar sig med pass.",
		"Staff without a Swedish personal or coordination number identify themselves with a passport."},
	KeyShortTermOnly: {"Personal utan svenskt person- eller samordningsnummer kan bara få korttidskort, inte {type}.",
		"Staff without a Swedish personal or coordination number can only get a short-term card, not {type}."},

	KeyAttestorsTooFew: {"Det behövs {need} intygsgivare; {have} angivna.",
		"{need} attestors are needed; {have} given."},
	KeyAttestorAbsent: {"Intygsgivare {attestor} måste vara på plats samtidigt som mottagaren.",
		"Attestor {attestor} must be present at the same time as the recipient."},
	KeyAttestorUnverified: {"Intygsgivare {attestor} måste legitimera sig med sitt eget SITHS-kort och sin PIN här vid stationen.",
		"Attestor {attestor} must identify with their own SITHS card and PIN here at the station."},
	KeyAttestorUnidentified: {"Intygsgivare {attestor} saknar personnummer och HSA-id.",
		"Attestor {attestor} has no personal number and no HSA-ID."},
	KeyAttestorDuplicate: {"Intygsgivare {attestor} är samma person som intygsgivare {other}.",
		"Attestor {attestor} is the same person as attestor {other}."},
	KeyAttestorRole: {"Intygsgivare {attestor} ({role}) får inte intyga; det ska vara en behörig företrädare, helst överordnad chef.",
		"Attestor {attestor} ({role}) may not attest; it must be an authorised representative, preferably the superior manager."},
	KeyAttestorIsAdmin: {"Intygsgivare {attestor} är id-administratör och får inte intyga.",
		"Attestor {attestor} is an ID administrator and may not attest."},
	KeyAttestorIsOperator: {"Intygsgivare {attestor} är den som lämnar ut kortet och får inte intyga samma utlämning.",
		"Attestor {attestor} is the issuing administrator and may not attest the same issuance."},
	KeyAttestorIsRecipient: {"Intygsgivare {attestor} är mottagaren själv.",
		"Attestor {attestor} is the recipient themself."},

	KeyValidityTableEmpty: {"Tabellen över giltighetstider saknas.",
		"The validity table is missing."},
	KeyValidityTableEntry: {"Giltighetstiden för orsaken {reason} ({days} dagar) är ogiltig.",
		"The validity for reason {reason} ({days} days) is invalid."},
	KeyReasonNotInTable: {"Orsaken {reason} finns inte i tabellen över giltighetstider.",
		"Reason {reason} is not in the validity table."},
	KeyValidityTooLong: {"Giltighetstiden {requested} dagar är längre än högst {max} dagar för orsaken {reason}.",
		"A validity of {requested} days exceeds the maximum of {max} days for reason {reason}."},
	KeyNeedsRegularOrder: {"\"Väntar på nytt SITHS-kort\" kräver att ett nytt kort är beställt i registret.",
		"\"Waiting for a new SITHS card\" needs a new card ordered in the registry."},
	KeyNeedsReserveOrder: {"\"Tillfälligt uppdrag\" kräver en beställning av reservkort i registret.",
		"\"Temporary assignment\" needs a reserve-card order in the registry."},
	KeyNoCardNoOrder: {"Mottagaren har varken ordinarie kort eller beställning av reservkort i registret.",
		"The recipient has neither a regular card nor a reserve-card order in the registry."},
	KeyAlreadyHasReserve: {"Mottagaren har redan reservkort {card_number} ({station}); man har bara ett reservkort.",
		"The recipient already has reserve card {card_number} ({station}); a person has only one reserve card."},
	KeyExtensionNotReserve: {"Kort {card_number} är inget reservkort och kan inte förlängas.",
		"Card {card_number} is not a reserve card and cannot be extended."},
	KeyExtensionOtherHolder: {"Reservkort {card_number} är utlämnat till någon annan.",
		"Reserve card {card_number} was issued to someone else."},
	KeyExtensionTwice: {"Reservkortet har redan förlängts ({extended}); det kan förlängas en gång.",
		"The reserve card was already extended ({extended}); it can be extended once."},
	KeyExtensionTooLate: {"Förlängning måste begäras inom 7 månader från utlämningen {issued}, senast {deadline}.",
		"An extension must be asked for within 7 months of the issue on {issued}, by {deadline}."},
	KeyExtensionReason: {"Förlängningen måste gälla samma orsak som utlämningen ({original}), inte {reason}.",
		"The extension must be for the same reason as the issue ({original}), not {reason}."},
	KeyExtensionValidity: {"Förlängningen ges med samma giltighetstid som vid utlämningen ({original} dagar), inte {requested}.",
		"The extension is for the same validity as at issue ({original} days), not {requested}."},
	KeyDeviationExpired: {"Reservkort {card_number} har inte lämnats tillbaka fast giltighetstiden gått ut.",
		"Reserve card {card_number} was not returned after its validity ended."},
	KeyDeviationRegularAtHand: {"Reservkort {card_number} har inte lämnats tillbaka fast det ordinarie kortet finns.",
		"Reserve card {card_number} was not returned though the regular card is at hand."},
	KeyChipNotRead: {"Kortet har inte lästs i kortläsaren.",
		"The card has not been read in the card reader."},
	KeyChipMismatch: {"Kortet i läsaren ({chip_serial}) är inte kort {card_number} som lämnades ut.",
		"The card in the reader ({chip_serial}) is not card {card_number} that was handed out."},
	KeyCardNumberMissing: {"Kortnummer saknas.",
		"The card number is missing."},
	KeyCardWrongType: {"Kortet är av typen {type}, inte {want}.",
		"The card is of type {type}, not {want}."},
	KeyTransition: {"Ett kort kan inte gå från {from} till {to}.",
		"A card cannot go from {from} to {to}."},

	KeyDrawerAlarm: {"Larm: kortlådan öppnades {opened} utan att en behörig administratör var inloggad.",
		"Alarm: the card drawer was opened at {opened} with no authorised administrator logged in."},
	KeyCutWrongType: {"Bara reservkort och korttidskort klipps itu; kort av typen {type} lämnas in hela.",
		"Only reserve and short-term cards are cut; a card of type {type} is handed in whole."},

	KeyReceiptMissing: {"Kvittensen saknar {field}.",
		"The receipt lacks {field}."},
	KeyReceiptUnsigned: {"Mottagaren har inte skrivit under kvittensen.",
		"The recipient has not signed the receipt."},
	KeyReceiptAttestorUnsigned: {"Intygsgivare {attestor} har inte skrivit under kvittensen.",
		"Attestor {attestor} has not signed the receipt."},
	KeyReceiptReused: {"Kvittensen {id} är redan använd; en kvittens får inte återanvändas.",
		"Receipt {id} is already used; a receipt is never reused."},
	KeyReceiptSelfCorrection: {"Kvittensen {id} kan inte rätta sig själv.",
		"Receipt {id} cannot correct itself."},
	KeyReceiptEdited: {"Kvittensen {id} är underskriven och får inte ändras; gör en rättelse som ny kvittens.",
		"Receipt {id} is signed and must not change; make a correction as a new receipt."},
	KeyReceiptNotOverdue: {"Kvittensen är inte försenad; fristen går ut {deadline}.",
		"The receipt is not overdue; the deadline is {deadline}."},
	KeyNotifyIssued: {"Reservkort {card_number} har lämnats ut. Du får besked när det kan aktiveras.",
		"Reserve card {card_number} has been issued. You will be told when it can be activated."},
	KeyNotifyApproved: {"Reservkortet {card_number} är nu klart att aktiveras på https://minasidor.siths.se.",
		"Reserve card {card_number} is now ready to be activated at https://minasidor.siths.se."},
	KeyNotifyExpiry: {"Reservkort {card_number} slutar gälla om {days} dagar ({valid_until}). Lämna tillbaka det till kortstationen senast då, eller så snart ditt ordinarie kort finns.",
		"Reserve card {card_number} expires in {days} days ({valid_until}). Return it to the card station by then, or as soon as your regular card is at hand."},

	KeyCentralRejects: {"Den centrala tjänsten avslår beställningen ({rules}).",
		"The central service rejects the order ({rules})."},
	KeyCardUnknown: {"Kort {card_number} är okänt i registret.",
		"Card {card_number} is unknown to the registry."},
	KeyCardOtherHolder: {"Kort {card_number} hör till någon annan i registret.",
		"Card {card_number} belongs to someone else in the registry."},
	KeyCardTypeUnknown: {"Okänd korttyp {type}.",
		"Unknown card type {type}."},
	KeyOrderNotOpen: {"Beställning {order} är inte en öppen beställning av ett ordinarie kort.",
		"Order {order} is not an open order of a regular card."},
	KeyOrderOtherHolder: {"Beställning {order} gäller någon annan.",
		"Order {order} is for someone else."},
	KeyProcessingInvalid: {"Handläggningstiderna är felaktiga ({problem}).",
		"The processing hours are invalid ({problem})."},
	KeyNoProcessingTime: {"Ingen handläggningstid finns inom tre år.",
		"There is no processing time within three years."},
	KeyWindowInvalid: {"Stoppfönster {window} är felaktigt ({problem}).",
		"Stop window {window} is invalid ({problem})."},
	KeyOrderStop: {"Beställningsstopp {start}–{end}: inga ordinarie kort kan beställas, bara reservkort.",
		"Order stop {start}–{end}: no regular card can be ordered, only reserve cards."},
	KeyTotalStop: {"Totalstopp {start}–{end}: inga kort, reservkort eller certifikat kan lämnas ut.",
		"Total stop {start}–{end}: no cards, reserve cards or certificates can be issued."},
	KeyPickupDeadlinePassed: {"Kortet skulle ha hämtats senast {deadline} och ska makuleras.",
		"The card should have been picked up by {deadline} and is to be voided."},

	KeyBlockReason: {"{reason} är inget skäl att spärra ett kort.",
		"{reason} is not a reason to block a card."},
	KeyCertificatesNotBlocked: {"Certifikaten på kort {card_number} ({state}) måste spärras innan de tas bort.",
		"The certificates on card {card_number} ({state}) must be blocked before they are removed."},
	KeyCardBlocked: {"Kort {card_number} är spärrat enligt registret och får inte användas, lämnas ut, förlängas eller hämtas.",
		"Card {card_number} is blocked according to the registry and cannot be used, handed out, extended or picked up."},

	KeyOperatorNoHSAID: {"Administratören saknar HSA-id.",
		"The administrator has no HSA-ID."},
	KeyOperatorNotAuthorised: {"Administratören är inte behörig att lämna ut kort enligt registret.",
		"The administrator is not authorised to issue cards according to the registry."},
	KeyAdminNoHSAID: {"Administratören måste finnas i HSA-katalogen (HSA-id).",
		"The administrator must be in the HSA catalogue (HSA-ID)."},
	KeyAdminNoManager: {"En chef (en annan person) måste utse eller ta bort administratören.",
		"A manager (someone else) must appoint or remove the administrator."},
	KeyAdminUntrained: {"Chefen måste gå i god för att administratören har utbildning och lämplighet.",
		"The manager must vouch for the administrator's training and suitability."},
	KeyAdminChangeIncomplete: {"Ändringen behöver namn, HSA-id, e-postadress och telefonnummer.",
		"The change needs name, HSA-ID, e-mail address and telephone number."},
	KeyAdminChangeKind: {"Okänd ändring av administratör: {kind}.",
		"Unknown administrator change: {kind}."},
}

// Keys returns every key in the catalogue.
func Keys() []Key {
	out := make([]Key, 0, len(catalog))
	for k := range catalog {
		out = append(out, k)
	}
	return out
}

// Render returns the text of key in lang ("sv" or "en"; anything else
// gets English) with each {name} replaced by facts[name]. An unknown key
// renders as the key itself, so nothing is ever blank.
func Render(key Key, lang string, facts map[string]string) string {
	t, ok := catalog[key]
	if !ok {
		return string(key)
	}
	s := t.en
	if lang == "sv" {
		s = t.sv
	}
	if len(facts) == 0 || !strings.Contains(s, "{") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			break
		}
		name := s[i+1 : i+j]
		b.WriteString(s[:i])
		if v, ok := facts[name]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(s[i : i+j+1])
		}
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return b.String()
}
