package registry

import "maps"

// issue14Sv is the Swedish of the search, reports, approval evidence and
// stop-window texts (search.go, reports.go, console_evidence.go,
// stopwindows.go), added to consoleSv.
var issue14Sv = map[string]string{
	"Card state":     "Kortets status",
	"Central review": "Central granskning",
	"Check the period: months as YYYY-MM, the first not after the last.":                                                                   "Kontrollera perioden: månader som ÅÅÅÅ-MM, den första inte efter den sista.",
	"Check the search term: a personal number as YYYYMMDD-NNNN, at least two letters of a name, an HSA-ID, a card serial or a station ID.": "Kontrollera sökordet: ett personnummer som ÅÅÅÅMMDD-NNNN, minst två bokstäver av ett namn, ett HSA-id, ett kortnummer eller ett stations-id.",
	"Every search is recorded in the audit trail.":                                                                                         "Varje sökning registreras i granskningsloggen.",
	"Evidence":                               "Underlag",
	"Evidence for approval (CP-1)":           "Underlag för godkännande (CP-1)",
	"From month":                             "Från månad",
	"To month":                               "Till månad",
	"Issued":                                 "Utlämnade",
	"Name":                                   "Namn",
	"No findings: the rules allow approval.": "Inga anmärkningar: reglerna tillåter godkännande.",
	"no findings":                            "inga anmärkningar",
	"None.":                                  "Inga.",
	"Operator":                               "Handläggare",
	"Period":                                 "Period",
	"Personal number":                        "Personnummer",
	"Receipt":                                "Kvittens",
	"Receipt (PDF)":                          "Kvittens (PDF)",
	"Signed receipt (PDF)":                   "Signerad kvittens (PDF)",
	"Recipient":                              "Mottagare",
	"Reports":                                "Rapporter",
	"Results":                                "Träffar",
	"Returned":                               "Återlämnade",
	"Search":                                 "Sök",
	"Search by":                              "Sök på",
	"Search for a person or a card":          "Sök person eller kort",
	"Search term":                            "Sökord",
	"Show":                                   "Visa",
	"Swedish time":                           "svensk tid",
	"The review could not run":               "Granskningen kunde inte göras",
	"Valid":                                  "Giltigt",
	"correction(s)":                          "rättelse(r)",
	"damaged":                                "skadad",
	"more than shown: narrow the search":     "fler än som visas: begränsa sökningen",
	"no receipt has reached the registry":    "ingen kvittens har kommit till registret",
	"receipt without PDF":                    "kvittens utan PDF",
	"valid until":                            "giltig till",
	"voided":                                 "makulerat",
	"The registry's facts about the person":  "Registrets uppgifter om personen",
	"regular card":                           "ordinarie kort",
	"reserve card":                           "reservkort",
	"order":                                  "beställning",
	"no receipt":                             "ingen kvittens",
	"receipt content not understood":         "kvittensens innehåll kunde inte läsas",
	SearchPersonalNumber:                     "personnummer",
	SearchName:                               "namn",
	SearchHSAID:                              "HSA-id",
	SearchSerial:                             "kortnummer",
	SearchStation:                            "station",
	ReportIssuances:                          "Reservkort per station, anledning och månad",
	ReportStock:                              "Lager per station",
	ReportDeviations:                         "Avvikelser (RC-6) per station och månad",
	"Month":                                  "Månad",
	"Voided":                                 "Makulerade",
	"Outstanding":                            "Ute",
	"Overdue":                                "Försenade",
	"Stock":                                  "Lager",
	"Cards":                                  "Kort",
	"Cards in stock":                         "Kort i lager",
	"Shipped to the station":                 "Skickade till stationen",
	"Rule":                                   "Regel",
	"Deviations":                             "Avvikelser",
	"Not returned":                           "Inte återlämnade",
	"Not followed up":                        "Inte uppföljda",
	"activated":                              "aktiverat",
	"blocked":                                "spärrat",
	"returned":                               "återlämnat",
	"That time does not exist in Sweden: the clocks go forward then. Nothing was changed.": "Den tiden finns inte i Sverige: klockan ställs fram då. Inget ändrades.",
	"No certificates are approved during a total stop (CP-3). Nothing was changed.":        "Inga certifikat godkänns under ett totalstopp (CP-3). Inget ändrades.",
}

// issue14En is the English where the key is a raw name.
var issue14En = map[string]string{
	SearchPersonalNumber: "personal number", SearchName: "name", SearchHSAID: "HSA-ID", SearchSerial: "card serial", SearchStation: "station",
	ReportIssuances: "Reserve cards per station, reason and month", ReportStock: "Stock per station", ReportDeviations: "Deviations (RC-6) per station and month",
}

func init() {
	for k, v := range issue14Sv {
		if _, ok := consoleSv[k]; !ok {
			consoleSv[k] = v
		}
	}
	maps.Copy(consoleEn, issue14En)
}
