package counter

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/protocol"
)

// issuingKinds are the registry data an issuance decides on.
var issuingKinds = refdata.IssuingKinds

var kindNames = map[string][2]string{
	protocol.RefOperators:    {"behöriga administratörer", "authorised administrators"},
	protocol.RefBlockedCards: {"spärrade kort", "blocked cards"},
	protocol.RefStopWindows:  {"beställnings- och totalstopp", "order and total stops"},
	protocol.RefValidity:     {"giltighetstabellen", "the validity table"},
	protocol.RefPersonFacts:  {"personuppgifter om kort och beställningar", "person facts on cards and orders"},
}

func hours(d time.Duration) int { return int(math.Round(d.Hours())) }

// checkFresh refuses an issuance on registry data too old to rely on (the
// sync policy), saying which data is how old.
func (m *Counter) checkFresh(ctx context.Context) error {
	err := m.opts.Freshness.Check(ctx, m.st, m.clock.Now(), issuingKinds...)
	if err == nil {
		return nil
	}
	var out []Message
	for _, e := range flatten(err) {
		var se *refdata.StaleError
		if !errors.As(e, &se) {
			return err
		}
		name := kindNames[se.Kind]
		var sv, en string
		switch {
		case se.Never:
			sv, en = fmt.Sprintf("Registrets %s har inte hämtats ännu.", name[0]), fmt.Sprintf("The registry's %s have not been received yet.", name[1])
		case se.Resyncing:
			sv, en = fmt.Sprintf("Registrets %s hämtas om och är inte kompletta.", name[0]), fmt.Sprintf("The registry's %s are being fetched again and are incomplete.", name[1])
		case se.ClockBack:
			sv, en = "Stationens klocka har gått bakåt sedan senaste synken.", "The station's clock moved back since the last sync."
		default:
			sv = fmt.Sprintf("Registrets %s är %d timmar gamla (högst %d). Synka stationen.", name[0], hours(se.Age), hours(se.MaxAge))
			en = fmt.Sprintf("The registry's %s are %d hours old (at most %d). Sync the station.", name[1], hours(se.Age), hours(se.MaxAge))
		}
		out = append(out, Message{Key: "stale." + se.Kind, Text: map[string]string{"sv": sv, "en": en}})
	}
	return &Refusal{Messages: out}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
