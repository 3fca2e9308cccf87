package registry

import "maps"

// lookupSv is the Swedish of the person look-up record on the audit page
// (lookup.go), added to consoleSv; lookupEn the English of its raw
// outcomes.
var lookupSv = map[string]string{
	"Person look-ups by stations": "Personslagningar från stationer",
	"Each look-up of a person the station holds nothing about; the personal number is kept only as a keyed hash (the same as a search for it gives in the trail above).": "Varje slagning på en person som stationen inte har uppgifter om; personnumret sparas bara som en nyckelad hash (samma som en sökning på det ger i loggen ovan).",
	"Operator":           "Handläggare",
	"Person (hash)":      "Person (hash)",
	"Outcome":            "Utfall",
	"No look-ups yet.":   "Inga slagningar ännu.",
	LookupFound:          "hittad",
	LookupNotFound:       "inga uppgifter",
	LookupLocked:         "nekad: stationen är låst",
	LookupNoOperator:     "nekad: ingen behörig handläggare",
	LookupRateLimited:    "nekad: för många slagningar",
	LookupInvalidRequest: "nekad: ogiltigt personnummer",
	LookupIdentity:       "nekad: frågade i en annan stations namn",
}

var lookupEn = map[string]string{
	LookupFound:          "found",
	LookupNotFound:       "no facts",
	LookupLocked:         "refused: station locked",
	LookupNoOperator:     "refused: no authorised operator",
	LookupRateLimited:    "refused: too many look-ups",
	LookupInvalidRequest: "refused: not a personal number",
	LookupIdentity:       "refused: asked in another station's name",
}

func init() {
	for k, v := range lookupSv {
		if _, ok := consoleSv[k]; !ok {
			consoleSv[k] = v
		}
	}
	maps.Copy(consoleEn, lookupEn)
}
