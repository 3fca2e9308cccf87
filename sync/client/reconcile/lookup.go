package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

// lookupTimeout bounds an on-demand person look-up: the operator waits for
// it at the counter, so it gives up long before a sync request would.
const lookupTimeout = 5 * time.Second

// LookupPerson asks the registry for one person's facts (POST /v1/person)
// on behalf of operator (the HSA-ID logged in at the counter): for a
// person the station holds no facts about. pnr is the personal number as
// the station stores it (YYYYMMDDNNNN); it travels in the body only. It
// returns the facts (a protocol.PersonFactsDoc) or nil when the registry
// has none; an error when the registry could not be asked or refused
// (*protocol.Error: locked, operator not authorised, rate limited).
func (c *Client) LookupPerson(ctx context.Context, operator, pnr string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	req := protocol.PersonLookupRequest{StationID: c.cfg.Identity.StationID, Operator: operator, PersonalNumber: pnr}
	var resp protocol.PersonLookupResponse
	if err := protocol.Post(ctx, c.hc, c.cfg.Identity.URL+protocol.PathPerson, req, &resp); err != nil {
		return nil, fmt.Errorf("person look-up: %w", err)
	}
	if !resp.Found || len(resp.Facts) == 0 {
		return nil, nil
	}
	var doc protocol.PersonFactsDoc
	if err := json.Unmarshal(resp.Facts, &doc); err != nil {
		return nil, fmt.Errorf("person look-up: the registry's facts: %w", err)
	}
	return resp.Facts, nil
}
