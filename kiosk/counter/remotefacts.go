package counter

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/protocol"
)

// On-demand look-ups (issue 12 item 5): the station holds the registry's
// facts about its own people only. When the operator looks up a personal
// number the station holds nothing about, the counter asks the registry
// for that one person (POST /v1/person, audited there) and uses the
// answer for the look-up's checks (RC-2..RC-4, BL-1) and the issuance
// decision. The answer is kept in the flow only — never written to the
// station's person register — and goes with the flow.

// PersonLookup asks the registry for one person's facts on behalf of the
// operator logged in (reconcile.Client.LookupPerson): the facts (a
// protocol.PersonFactsDoc), nil when the registry has none, an error when
// it could not be asked or refused.
type PersonLookup interface {
	LookupPerson(ctx context.Context, operator, pnr string) (json.RawMessage, error)
}

// SetPersonLookup connects the on-demand look-up once the sync runs.
func (m *Counter) SetPersonLookup(l PersonLookup) {
	m.devMu.Lock()
	defer m.devMu.Unlock()
	m.lookup = l
}

// What the registry said about a person the station held nothing about.
const (
	remoteFound       = "found"       // the registry's facts are used
	remoteNone        = "none"        // the registry holds nothing either
	remoteUnavailable = "unavailable" // the registry could not be asked: the station's data only
	remoteRefused     = "refused"     // the registry refused (too many look-ups, locked, operator): the station's data only
)

// remoteFacts is the registry's answer for one person, kept for the flow.
type remoteFacts struct {
	pnr   string // canonical
	state string
	facts json.RawMessage
}

// personRegistry is Registry for p in flow f: with the facts looked up on
// demand when the station holds none. ask: ask the registry when this
// flow has not asked about p yet (the look-up and the recipient step; the
// decision uses what the flow already has).
func (m *Counter) personRegistry(ctx context.Context, f *flowState, p rules.Person, ask bool, cards ...string) (rules.Registry, error) {
	if p.PersonalNumber.IsZero() {
		return m.st.Registry(ctx, p, cards...)
	}
	key := store.Canonical(p.PersonalNumber)
	if f.remote == nil || f.remote.pnr != key {
		if !ask {
			return m.st.Registry(ctx, p, cards...)
		}
		if _, err := m.st.PersonFacts(ctx, key); err == nil {
			f.remote = nil
			return m.st.Registry(ctx, p, cards...)
		} else if !errors.Is(err, store.ErrNotFound) {
			return rules.Registry{}, err
		}
		if f.remote = m.askRegistry(ctx, key); f.remote == nil {
			return m.st.Registry(ctx, p, cards...)
		}
	}
	return m.st.RegistryWith(ctx, p, f.remote.facts, cards...)
}

// askRegistry asks the registry about one person for the operator logged
// in; nil when the station has no registry to ask (no sync configured).
// Nothing personal is logged.
func (m *Counter) askRegistry(ctx context.Context, key string) *remoteFacts {
	m.devMu.Lock()
	l := m.lookup
	m.devMu.Unlock()
	if l == nil {
		return nil
	}
	r := &remoteFacts{pnr: key, state: remoteUnavailable}
	if m.sess == nil { // only for an operator logged in
		return r
	}
	facts, err := l.LookupPerson(ctx, m.sess.hsaID.String(), key)
	var pe *protocol.Error
	switch {
	case errors.As(err, &pe) && pe.Status/100 == 4:
		m.log.Warn("the registry refused a person look-up", "code", pe.Code)
		r.state = remoteRefused
	case err != nil:
		m.log.Warn("person look-up: the registry could not be asked", "err", err)
	case facts == nil:
		r.state = remoteNone
	default:
		r.state, r.facts = remoteFound, facts
	}
	return r
}
