package registry

import "maps"

// regmailSv is the Swedish of the registered-mail pages (regmail_page.go),
// added to consoleSv.
var regmailSv = map[string]string{
	"Activate": "Aktivera",
	"Activate the card (identified by registered mail)": "Aktivera kortet (identifierad med rekommenderad post)",
	"Activated":                             "Aktiverat",
	"All envelopes":                         "Alla kuvert",
	"Archived receipt":                      "Arkiverad kvittens",
	"Cancel":                                "Makulera",
	"Cancel the envelope":                   "Makulera kuvertet",
	"Cancelled":                             "Makulerat",
	"Card serial (central stock)":           "Kortnummer (centralt lager)",
	"Cover letter and manual receipt (PDF)": "Följebrev och manuell kvittens (PDF)",
	"Envelope":                              "Kuvert",
	"Envelopes":                             "Kuvert",
	"Identification method":                 "ID-sätt",
	"Level of assurance":                    "Tillitsnivå",
	"Mark as sent":                          "Markera som skickat",
	"Only for LoA2 reserve cards, when the recipient is at a distance and no issuing administrator can meet them. The card is activated only when the signed receipt is back.": "Endast för reservkort LoA2, när mottagaren är på distans och ingen behörig administratör kan träffa hen. Kortet aktiveras först när den undertecknade kvittensen har kommit tillbaka.",
	"Postal address":                   "Postadress",
	"Postal address (the orderer's)":   "Postadress (som beställaren anger)",
	"Record the returned receipt":      "Registrera den återsända kvittensen",
	"Register an envelope":             "Registrera ett kuvert",
	"Register envelope":                "Registrera kuvert",
	"Registered":                       "Registrerat",
	"Reserve card by registered mail":  "Reservkort med rekommenderad post",
	"Reserve cards by registered mail": "Reservkort med rekommenderad post",
	"Reserve cards by registered mail are LoA2 only. Nothing was changed.": "Reservkort med rekommenderad post ges bara ut med tillitsnivå LoA2. Inget ändrades.",
	"Scan of the signed receipt (PDF, PNG or JPEG, at most 8 MB)":          "Inskannad undertecknad kvittens (PDF, PNG eller JPEG, högst 8 MB)",
	"Send":                    "Skicka",
	"Sent by registered mail": "Skickat med rekommenderad post",
	"Signed receipt returned": "Undertecknad kvittens tillbaka",
	"State":                   "Status",
	"That card is not in central stock (shipped to a station, handed out, blocked or in another envelope). Nothing was changed.": "Kortet finns inte i det centrala lagret (skickat till en station, utlämnat, spärrat eller i ett annat kuvert). Inget ändrades.",
	"That step is not possible now: the card is activated only after the signed receipt is back. Nothing was changed.":           "Det steget går inte nu: kortet aktiveras först när den undertecknade kvittensen har kommit tillbaka. Inget ändrades.",
	"The person already has a reserve card or one on its way: one reserve card per person. Nothing was changed.":                 "Personen har redan ett reservkort eller ett på väg: ett reservkort per person. Inget ändrades.",
	"The scan is empty or larger than 8 MB. Nothing was changed.":                                                                "Filen är tom eller större än 8 MB. Inget ändrades.",
	"The scan must be a PDF, PNG or JPEG file. Nothing was changed.":                                                             "Filen måste vara en PDF, PNG eller JPEG. Inget ändrades.",
	"Tracking number of the registered letter":                                                                                   "Kollinummer för det rekommenderade brevet",
	"YYYYMMDD-NNNN":         "ÅÅÅÅMMDD-NNNN",
	"tracking number":       "kollinummer",
	"Registered mail":       "Rekommenderad post",
	EnvelopeRegistered:      "registrerat",
	EnvelopeSent:            "skickat",
	EnvelopeReceiptReturned: "kvittens tillbaka",
	EnvelopeCancelled:       "makulerat",
	IDMethodRegisteredMail:  "Identifierad med rekommenderad post",
}

// regmailEn is the English where the key is a raw state.
var regmailEn = map[string]string{
	EnvelopeReceiptReturned: "receipt returned", IDMethodRegisteredMail: "identified by registered mail", "YYYYMMDD-NNNN": "YYYYMMDD-NNNN",
}

func init() {
	for k, v := range regmailSv {
		if _, ok := consoleSv[k]; !ok {
			consoleSv[k] = v
		}
	}
	maps.Copy(consoleEn, regmailEn)
}
