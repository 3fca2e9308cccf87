package counter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/store"
)

// access says who may make a request.
type access int

const (
	// anyone: any connection, also while the station is locked by a
	// central admin (status and "sync now").
	anyone access = iota
	// loggingIn: any connection, to log in or take its session back;
	// the counter checks the connection against the login itself.
	loggingIn
	// owner: only the connection that holds the operator's session.
	owner
	// simulation: the dev panel, served only in simulation.
	simulation
)

// route is one request type: who may make it and what answers it.
type route struct {
	access access
	handle func(ctx context.Context, client string, payload json.RawMessage) (any, error)
}

// routeTable maps every request the UI can make to its handler: the one
// place to read what the websocket accepts.
func (m *Counter) routeTable() map[string]route {
	return map[string]route{
		// The station, for every screen.
		"status.get": {anyone, func(ctx context.Context, client string, _ json.RawMessage) (any, error) {
			return m.Snapshot(ctx, client), nil
		}},
		"session.get": {anyone, func(ctx context.Context, client string, _ json.RawMessage) (any, error) {
			return m.sessionState(ctx, client), nil
		}},
		"sync.now":       {anyone, m.syncNow},
		"status.station": {owner, func(ctx context.Context, _ string, _ json.RawMessage) (any, error) { return m.stationStatus(ctx) }},

		// The operator's session.
		"session.pin":    {loggingIn, m.pin},
		"session.resume": {loggingIn, m.resumeRequest},
		"session.logout": {owner, m.logout},
		"session.touch":  {owner, func(context.Context, string, json.RawMessage) (any, error) { return nil, nil }},

		// The flows.
		"flow.start":  {owner, m.startRequest},
		"flow.step":   {owner, m.stepRequest},
		"flow.cancel": {owner, m.cancelRequest},

		// The receipts to reprint, from the home screen.
		"receipt.reprint": {owner, m.reprintRequest},

		// The dev panel: simulated hardware.
		"dev.cards":                {simulation, m.devCards},
		"dev.card.insert":          {simulation, m.devCardInsert},
		"dev.card.remove":          {simulation, m.devCardRemove},
		"dev.drawer.open":          {simulation, m.devDrawer(DrawerOpen)},
		"dev.drawer.close":         {simulation, m.devDrawer(DrawerClose)},
		"dev.drawer.fail":          {simulation, m.devDrawer(DrawerFail)},
		"dev.drawer.repair":        {simulation, m.devDrawer(DrawerRepair)},
		"dev.printer.paused":       {simulation, m.devPrinter(PrinterPaused)},
		"dev.printer.offline":      {simulation, m.devPrinter(PrinterOffline)},
		"dev.printer.out_of_paper": {simulation, m.devPrinter(PrinterOutOfPaper)},
	}
}

// Handle answers one request from a screen: the routing table says who may
// make it; a central admin's lock refuses all but status and "sync now";
// requests on the session run under the counter's lock, count as
// activity and tell every screen that the view changed.
func (m *Counter) Handle(ctx context.Context, client, typ string, payload json.RawMessage) (any, error) {
	r, ok := m.routes[typ]
	if !ok || (r.access == simulation && (!m.opts.Simulation || m.dev == nil)) {
		return nil, errUnknownRequest()
	}
	if m.RemoteLocked() && r.access != anyone && r.access != simulation {
		return nil, errLocked
	}
	switch r.access {
	case anyone, simulation:
		res, err := r.handle(ctx, client, payload)
		if err != nil {
			err = m.diskRefusal(typ, refusalOf(err))
			m.logRefusal(typ, err)
			return nil, err
		}
		return okIfNil(res), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.access == owner {
		if m.sess == nil {
			return nil, errNoSession
		}
		if client != m.owner {
			m.refused(ctx, client, "session.request_refused", typ)
			m.logRefusal(typ, errElsewhere)
			return nil, errElsewhere
		}
	}
	res, err := r.handle(ctx, client, payload)
	// Only the session's own connection keeps it from the idle lock (a
	// resume counts once it succeeded): another connection's refused
	// requests must not hold an abandoned session open.
	if client == m.owner {
		m.touch()
	}
	m.changed()
	if err != nil {
		err = m.diskRefusal(typ, refusalOf(err))
		m.logRefusal(typ, err)
		if client == m.owner {
			var msgs []Message
			var p *Refusal
			if errors.As(err, &p) {
				msgs = p.Messages
				m.auditRefusal(ctx, typ, msgs)
			}
			if m.flow != nil {
				m.flow.errors = msgs
			} else {
				m.homeErrors = msgs
			}
		}
		return nil, err
	}
	if client == m.owner {
		m.homeErrors = nil
		if m.flow != nil {
			m.flow.errors = nil
		}
	}
	return okIfNil(res), nil
}

func okIfNil(res any) any {
	if res == nil {
		return map[string]bool{"ok": true}
	}
	return res
}

func errUnknownRequest() *Refusal {
	return refuse(msg("unknown_request", "Stationen känner inte till begäran. Ladda om sidan.", "The station does not know this request. Reload the page."))
}

func decode(payload json.RawMessage, v any) error {
	if len(payload) == 0 {
		payload = []byte("{}")
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return malformed(err)
	}
	return nil
}

func (m *Counter) pin(ctx context.Context, client string, payload json.RawMessage) (any, error) {
	defer clear(payload)
	var req struct {
		PIN json.RawMessage `json:"pin"`
	}
	if err := json.Unmarshal(payload, &req); err != nil {
		return nil, malformed(err)
	}
	return m.verifyPIN(ctx, client, bytes.Trim(req.PIN, `"`))
}

func (m *Counter) resumeRequest(ctx context.Context, client string, payload json.RawMessage) (any, error) {
	var req struct {
		Secret string `json:"secret"`
	}
	if err := decode(payload, &req); err != nil {
		return nil, err
	}
	secret, err := m.resumeSession(ctx, client, req.Secret)
	if err != nil {
		return nil, err
	}
	return map[string]string{"resume": secret}, nil
}

func (m *Counter) logout(ctx context.Context, _ string, _ json.RawMessage) (any, error) {
	m.endSession(ctx, "logout")
	m.note = ptr(msg("logged_out", "Du är utloggad. Ta ut ditt kort.", "You are logged out. Remove your card."))
	return nil, nil
}

func (m *Counter) startRequest(ctx context.Context, _ string, payload json.RawMessage) (any, error) {
	var req struct {
		Kind Kind `json:"kind"`
	}
	if err := decode(payload, &req); err != nil {
		return nil, err
	}
	return nil, m.start(ctx, req.Kind)
}

func (m *Counter) stepRequest(ctx context.Context, _ string, payload json.RawMessage) (any, error) {
	if m.flow == nil {
		return nil, errNoFlow
	}
	var req struct {
		Step Action          `json:"step"`
		Data json.RawMessage `json:"data"`
	}
	if err := decode(payload, &req); err != nil {
		return nil, err
	}
	return nil, m.step(ctx, req.Step, req.Data)
}

func (m *Counter) syncNow(context.Context, string, json.RawMessage) (any, error) {
	m.devMu.Lock()
	sy := m.sync
	m.devMu.Unlock()
	if sy == nil {
		return nil, refuse(msg("sync_off", "Stationen synkar inte med registret just nu. Köade poster skickas när synken är igång igen; kontakta driften om det består.",
			"The station is not syncing with the registry right now. Queued records are sent once it syncs again; contact operations if this persists."))
	}
	return nil, sy.SyncNow()
}

// auditRefusal records a refused request of the session's owner: which
// request, at which step, and the rules and keys that refused it. The
// screen shows what to do; the rule IDs are for the audit log. No personal
// data: keys and rule IDs only.
func (m *Counter) auditRefusal(ctx context.Context, typ string, msgs []Message) {
	if m.sess == nil || len(msgs) == 0 {
		return
	}
	var rules, keys []string
	for _, ms := range msgs {
		keys = append(keys, ms.Key)
		if ms.Rule != "" {
			rules = append(rules, ms.Rule)
		}
	}
	detail := map[string]any{"request": typ, "keys": keys, "session": m.sess.id}
	if len(rules) > 0 {
		detail["rules"] = rules
	}
	if m.flow != nil {
		detail["flow"], detail["step"] = string(m.flow.kind), string(m.flow.step)
	}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		_, err := t.Audit(ctx, audit.Entry{Kind: "counter.refused", Actor: m.sess.hsaID.String(), Subject: m.sess.id, Detail: detail})
		return err
	})
	if err != nil {
		m.log.Error("refusal not audited", "err", err)
	}
}
