package problem

import (
	"strings"

	"github.com/kortstation/kortstation/kiosk/rules/violation"
)

// The rules name the facts that broke them by their stored values (a
// card's state "handed_out", its type "short_term", a reason "lost"). A
// person at the counter reads words: each such fact is put in words in
// the message's language before the text is rendered. The raw values
// stay in the violation, for the audit log.

// factWords are the words for a fact's stored value, by the kind of value.
var factWords = map[string]map[string][2]string{ // kind → value → {sv, en}
	"state": {
		"in_stock":   {"i lager", "in stock"},
		"handed_out": {"utlämnat", "handed out"},
		"approved":   {"godkänt", "approved"},
		"activated":  {"aktiverat", "activated"},
		"returned":   {"återlämnat", "returned"},
		"voided":     {"makulerat", "voided"},
		"blocked":    {"spärrat", "blocked"},
		"expired":    {"utgånget", "expired"},
	},
	"type": {
		"sis":        {"SITHS-kort", "SITHS card"},
		"company":    {"företagskort", "company card"},
		"short_term": {"korttidskort", "short-term card"},
		"reserve":    {"reservkort", "reserve card"},
	},
	"reason": {
		"forgotten":            {"glömt kort", "forgotten card"},
		"stolen":               {"stulet kort", "stolen card"},
		"lost":                 {"förlorat kort", "lost card"},
		"broken":               {"trasigt kort", "broken card"},
		"damaged":              {"skadat kort", "damaged card"},
		"waiting_for_new_card": {"väntar på nytt SITHS-kort", "waiting for a new SITHS card"},
		"temporary_assignment": {"tillfälligt uppdrag", "temporary assignment"},
		"pin_puk_exposed":      {"PIN/PUK röjd", "PIN/PUK exposed"},
		"employment_ended":     {"anställningen upphört", "employment ended"},
		"misused":              {"missbrukat", "misused"},
		"receipt_overdue":      {"kvittensen saknas", "receipt overdue"},
	},
	"role": {
		"manager":                   {"chef", "manager"},
		"employer":                  {"arbetsgivare", "employer"},
		"authorised_representative": {"behörig företrädare", "authorised representative"},
		"id_administrator":          {"id-administratör", "ID administrator"},
		"registrar":                 {"registrator", "registrar"},
		"security_officer":          {"säkerhetsansvarig", "security officer"},
	},
	"doc": {
		"swedish_passport":        {"svenskt pass", "Swedish passport"},
		"swedish_driving_licence": {"svenskt körkort", "Swedish driving licence"},
		"sis_id_card":             {"SIS-märkt id-kort", "SIS-approved ID card"},
		"national_id_card":        {"nationellt id-kort", "national ID card"},
		"tax_agency_id_card":      {"Skatteverkets id-kort", "Tax Agency ID card"},
		"foreign_passport":        {"utländskt pass", "foreign passport"},
	},
}

// factKinds says which kind of value each fact name holds.
var factKinds = map[string][]string{
	"from":     {"state"},
	"to":       {"state"},
	"state":    {"state"},
	"want":     {"type"},
	"type":     {"type", "doc"}, // a card type, or an ID document's type
	"reason":   {"reason"},
	"original": {"reason"},
	"role":     {"role"},
}

// advice is what to do next, for the refusals whose text says only what
// is wrong. It is added after the rule's own text.
var advice = map[violation.Key][2]string{
	violation.KeyPNRDate:                 {"Kontrollera numret.", "Check the number."},
	violation.KeyPNRFuture:               {"Kontrollera numret.", "Check the number."},
	violation.KeyPNRPlusWithCentury:      {"Skriv numret utan plustecken.", "Enter the number without the plus sign."},
	violation.KeyHSAIDOrgLuhn:            {"Kontrollera HSA-id:t.", "Check the HSA-ID."},
	violation.KeyRecipientUnidentified:   {"Skriv mottagarens personnummer.", "Enter the recipient's personal number."},
	violation.KeyRecipientAbsent:         {"Lämna ut kortet när mottagaren är här.", "Hand out the card when the recipient is here."},
	violation.KeyAttestationNotAllowed:   {"Välj ID-handling och skriv in den.", "Choose ID document and enter it."},
	violation.KeyAttestationGroundPNR:    {"Välj ID-handling och skriv in den.", "Choose ID document and enter it."},
	violation.KeyManagerRequired:         {"Be chefen komma hit med sin id-handling.", "Ask the manager to come here with their ID document."},
	violation.KeyDocDamaged:              {"Be om en annan giltig id-handling.", "Ask for another valid ID document."},
	violation.KeyDocExpired:              {"Be om en annan giltig id-handling.", "Ask for another valid ID document."},
	violation.KeyDocThreeMonths:          {"Be om en id-handling som gäller längre.", "Ask for an ID document that is valid longer."},
	violation.KeyDocSixMonths:            {"Be om ett pass som gäller längre.", "Ask for a passport that is valid longer."},
	violation.KeyAttestorsTooFew:         {"Låt nästa intygsgivare sätta i sitt kort.", "Let the next attestor insert their card."},
	violation.KeyAttestorAbsent:          {"Vänta tills intygsgivaren är här.", "Wait until the attestor is here."},
	violation.KeyAttestorUnidentified:    {"Låt intygsgivaren sätta i sitt eget SITHS-kort.", "Let the attestor insert their own SITHS card."},
	violation.KeyAttestorDuplicate:       {"En annan person behöver intyga.", "Another person needs to attest."},
	violation.KeyAttestorIsAdmin:         {"En annan person behöver intyga.", "Another person needs to attest."},
	violation.KeyAttestorIsOperator:      {"En annan person behöver intyga.", "Another person needs to attest."},
	violation.KeyAttestorIsRecipient:     {"En annan person behöver intyga.", "Another person needs to attest."},
	violation.KeyValidityTableEmpty:      {"Synka med registret (Stationsstatus → Synka nu) och försök igen.", "Sync with the registry (Station status → Sync now) and try again."},
	violation.KeyValidityTableEntry:      {"Kontakta registrets förvaltare.", "Contact the registry's administrators."},
	violation.KeyReasonNotInTable:        {"Välj en annan orsak.", "Choose another reason."},
	violation.KeyValidityTooLong:         {"Välj en kortare giltighetstid.", "Choose a shorter validity."},
	violation.KeyNeedsRegularOrder:       {"Välj en annan orsak, eller be personen beställa ett nytt kort.", "Choose another reason, or ask the person to order a new card."},
	violation.KeyNeedsReserveOrder:       {"Välj en annan orsak, eller be personen beställa ett reservkort.", "Choose another reason, or ask the person to order a reserve card."},
	violation.KeyNoCardNoOrder:           {"Be personen beställa ett kort hos sin korthandläggare.", "Ask the person to order a card from their card officer."},
	violation.KeyAlreadyHasReserve:       {"Ta först emot det gamla reservkortet (Återlämna reservkort).", "First take back the old reserve card (Return reserve card)."},
	violation.KeyExtensionNotReserve:     {"Sätt i personens reservkort.", "Insert the person's reserve card."},
	violation.KeyExtensionOtherHolder:    {"Sätt i personens eget reservkort.", "Insert the person's own reserve card."},
	violation.KeyExtensionTwice:          {"Ta emot kortet och lämna ut ett nytt reservkort i stället.", "Take the card back and issue a new reserve card instead."},
	violation.KeyExtensionTooLate:        {"Ta emot kortet och lämna ut ett nytt reservkort i stället.", "Take the card back and issue a new reserve card instead."},
	violation.KeyChipNotRead:             {"Sätt i kortet i kortläsaren.", "Insert the card in the card reader."},
	violation.KeyChipMismatch:            {"Ta ut kortet och sätt i kort {card_number}.", "Remove the card and insert card {card_number}."},
	violation.KeyCardNumberMissing:       {"Skriv kortnumret eller sätt i kortet i kortläsaren.", "Type the card number or insert the card in the card reader."},
	violation.KeyCardWrongType:           {"Välj ett kort av rätt typ.", "Choose a card of the right type."},
	violation.KeyTransition:              {"Kontrollera att det är rätt kort; välj annars ett annat kort eller avbryt.", "Check that it is the right card; otherwise choose another card or cancel."},
	violation.KeyDrawerAlarm:             {"Räkna korten i lådan (Inventera lådan).", "Count the cards (Count the drawer)."},
	violation.KeyReceiptMissing:          {"Fyll i det som saknas.", "Fill in what is missing."},
	violation.KeyReceiptUnsigned:         {"Låt mottagaren skriva under.", "Let the recipient sign."},
	violation.KeyReceiptAttestorUnsigned: {"Låt intygsgivaren skriva under.", "Let the attestor sign."},
	violation.KeyCentralRejects:          {"Kontakta registrets förvaltare.", "Contact the registry's administrators."},
	violation.KeyCardUnknown:             {"Kontrollera kortnumret.", "Check the card number."},
	violation.KeyCardOtherHolder:         {"Kontrollera kortnumret och personen.", "Check the card number and the person."},
	violation.KeyCardTypeUnknown:         {"Kontrollera kortet.", "Check the card."},
	violation.KeyOrderNotOpen:            {"Kontrollera beställningsnumret.", "Check the order number."},
	violation.KeyOrderOtherHolder:        {"Kontrollera beställningsnumret och personen.", "Check the order number and the person."},
	violation.KeyTotalStop:               {"Vänta tills stoppet är över.", "Wait until the stop is over."},
	violation.KeyPickupDeadlinePassed:    {"Makulera kortet; personen får beställa ett nytt.", "Void the card; the person orders a new one."},
	violation.KeyBlockReason:             {"Välj ett av skälen på skärmen.", "Choose one of the reasons on the screen."},
	violation.KeyCertificatesNotBlocked:  {"Spärra kortet först (Spärra kort).", "Block the card first (Block a card)."},
	violation.KeyCardBlocked:             {"Ta tillbaka kortet och välj ett annat, eller avbryt.", "Take the card back and choose another, or cancel."},
	violation.KeyOperatorNoHSAID:         {"Logga ut; en behörig administratör loggar in.", "Log out; an authorised administrator logs in."},
	violation.KeyOperatorNotAuthorised:   {"Logga ut; en behörig administratör loggar in.", "Log out; an authorised administrator logs in."},
}

// unknownWords are said for a fact the rules did not know ("?"): the
// screen never shows a literal "(?)".
var unknownWords = map[string][2]string{
	"station":  {"okänd station", "unknown station"},
	"issued":   {"okänt datum", "an unknown date"},
	"deadline": {"okänt datum", "an unknown date"},
}

// wordsFor returns facts with each stored value in words in lang.
func wordsFor(facts map[string]string, lang string) map[string]string {
	if len(facts) == 0 {
		return facts
	}
	i := 1
	if lang == "sv" {
		i = 0
	}
	out := make(map[string]string, len(facts))
	for name, v := range facts {
		out[name] = v
		if v == "?" {
			w, ok := unknownWords[name]
			if !ok {
				w = [2]string{"okänt", "unknown"}
			}
			out[name] = w[i]
			continue
		}
		for _, kind := range factKinds[name] {
			if w, ok := factWords[kind][v]; ok {
				out[name] = w[i]
				break
			}
		}
	}
	return out
}

// render is the violation's text in lang, its facts in words, followed
// by what to do next where the rule's text does not say it.
func render(v *violation.Violation, lang string) string {
	facts := wordsFor(v.Facts, lang)
	s := violation.Render(v.Key, lang, facts)
	a, ok := advice[v.Key]
	if !ok {
		return s
	}
	next := a[1]
	if lang == "sv" {
		next = a[0]
	}
	for name, val := range facts {
		next = strings.ReplaceAll(next, "{"+name+"}", val)
	}
	return s + " " + next
}
