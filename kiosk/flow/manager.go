// Package flow is the station's counter: the operator's session and every
// flow run at it (reserve-card issuance, ordinary pickup, return,
// extension, block request, stock), as a server-side state machine. The UI
// is a view of it: each request moves the machine one step or is refused
// with the rules' messages; reader and drawer events move it too. Every
// decision is the rules package's; this package gathers the facts, asks,
// and records the outcome in one transaction with its audit entry and
// outbox records.
package flow

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/hw/printer"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/station"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/refdata"
)

// DefaultIdleTimeout locks the station after this long without a touch or
// a card event.
const DefaultIdleTimeout = 5 * time.Minute

// Options tune a Manager.
type Options struct {
	// IdleTimeout locks an idle session; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// OperatorReader is where the operator's card stays during the
	// session; CardReader is where cards being issued or returned go. Empty
	// means the first and second reader by name.
	OperatorReader, CardReader string
	// Freshness is the maximum age of the registry data an issuance
	// relies on; nil means refdata.DefaultPolicy. An empty policy checks
	// nothing.
	Freshness refdata.Policy
}

// Manager is the counter's state machine. Create it with Attach.
type Manager struct {
	stn     *station.Station
	st      *store.Store
	bus     *bus.Bus
	clock   clock.Clock
	log     *slog.Logger
	reader  cardreader.Reader
	printer printer.Printer
	info    station.Info
	opts    Options

	mu    sync.Mutex // held for each request and event, end to end
	login *login
	sess  *session
	// owner is the UI connection that holds the session: only it sees the
	// session's view and may act in it. resume is the secret handed to it
	// at login, with which a reloaded page (a new connection) takes the
	// session back.
	owner  string
	resume string
	flow   *flowState
	note   *Message // shown on the lock screen, e.g. why the session ended
	// homeErrors: why the last flow did not start.
	homeErrors []Message
	rev        uint64

	bg     context.Context // ends when run ends: the print followers' life
	stopBg context.CancelFunc
	wg     sync.WaitGroup // print followers
}

type login struct {
	// claimedBy is the connection that sent the first PIN: the login is
	// its own from then on, so no other connection can send PINs to the
	// card (and block it).
	claimedBy string
	reader    string
	serial    string
	hsaID     ident.HSAID
	name      string
	retries   int
	err       *Message
}

type session struct {
	id       string
	reader   string
	serial   string
	hsaID    ident.HSAID
	name     string
	since    time.Time
	lastSeen time.Time
}

func (s *session) operator() rules.Operator {
	return rules.Operator{Person: rules.Person{HSAID: s.hsaID}, Name: s.name}
}

// Attach builds the counter on stn: registers its requests, hooks reader
// and drawer events, adds the idle watch to stn.Run and fills the
// snapshot's session state. Attaching twice is a no-op returning nil.
func Attach(stn *station.Station, opts Options) *Manager {
	if stn.Handles("session.logout") {
		return nil
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.Freshness == nil {
		opts.Freshness = refdata.DefaultPolicy()
	}
	m := &Manager{
		stn: stn, st: stn.Store(), bus: stn.Bus(), clock: stn.Clock(), log: stn.Logger().With("component", "flow"),
		reader: stn.Devices().Reader, printer: stn.Devices().Printer, info: stn.Info(), opts: opts,
	}
	m.bg, m.stopBg = context.WithCancel(context.Background())
	m.register()
	stn.OnReaderEvent(m.onReaderEvent)
	stn.SetSessionView(m.sessionState)
	stn.Go(m.run)
	return m
}

// run watches the idle timeout and the drawer until ctx ends.
func (m *Manager) run(ctx context.Context) error {
	sub := m.bus.Subscribe(64)
	defer sub.Close()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.stopBg()
			m.wg.Wait()
			m.mu.Lock()
			if m.sess != nil {
				m.endSession(context.WithoutCancel(ctx), "shutdown")
			}
			m.mu.Unlock()
			return nil
		case <-tick.C:
			m.mu.Lock()
			if m.sess != nil && m.clock.Now().Sub(m.sess.lastSeen) >= m.opts.IdleTimeout {
				m.endSession(ctx, "idle")
				m.note = ptr(msg("idle", "Stationen låstes efter en stund utan aktivitet.", "The station locked after a while without activity."))
				m.changed()
			}
			m.mu.Unlock()
		case ev, ok := <-sub.C:
			if !ok {
				sub = m.bus.Subscribe(64)
				continue
			}
			if ev.Topic == "drawer.open" {
				m.mu.Lock()
				if f := m.flow; f != nil {
					f.drawerOpened = true
					m.touch()
					if f.kind == KindPickup && f.step == "insert" && f.cardIn {
						// The card went in before the drawer was seen open:
						// read it again now.
						_, cardReader := m.readers()
						m.cardInserted(ctx, cardReader)
					}
					m.changed()
				}
				m.mu.Unlock()
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

// changed tells every UI that the session view changed. The event carries
// only a revision: the view itself, which holds personal data while a flow
// runs, is fetched with session.get.
func (m *Manager) changed() {
	m.rev++
	m.bus.Publish("session.changed", m.clock.Now(), map[string]uint64{"rev": m.rev})
}

// touch records activity for the idle timeout.
func (m *Manager) touch() {
	if m.sess != nil {
		m.sess.lastSeen = m.clock.Now()
	}
}

// readers returns the operator's and the card reader's names.
func (m *Manager) readers() (op, card string) {
	op, card = m.opts.OperatorReader, m.opts.CardReader
	if op != "" && card != "" {
		return op, card
	}
	names := append([]string(nil), m.reader.Readers()...)
	sort.Strings(names)
	if op == "" && len(names) > 0 {
		op = names[0]
	}
	if card == "" && len(names) > 1 {
		card = names[1]
	}
	return op, card
}

func (m *Manager) onReaderEvent(ctx context.Context, ev cardreader.Event) {
	if m.reader == nil {
		return
	}
	opReader, cardReader := m.readers()
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case ev.Kind == cardreader.CardInserted && ev.Reader == opReader && m.sess == nil:
		m.startLogin(ctx, ev.Reader)
	case ev.Kind == cardreader.CardRemoved && ev.Reader == opReader:
		if m.sess != nil {
			m.endSession(ctx, "card_removed")
			m.note = ptr(msg("card_removed", "Du loggades ut när kortet togs ut.", "You were logged out when the card was removed."))
		}
		m.login = nil
		m.changed()
	case ev.Kind == cardreader.CardInserted && ev.Reader == cardReader && m.sess != nil && m.flow != nil:
		m.touch()
		m.flow.cardIn = true
		m.cardInserted(ctx, ev.Reader)
		m.changed()
	case ev.Kind == cardreader.CardRemoved && ev.Reader == cardReader && m.flow != nil:
		m.flow.cardIn = false
		m.changed()
	case ev.Kind == cardreader.ReaderDetached && ev.Reader == opReader && m.sess != nil:
		m.endSession(ctx, "card_removed")
		m.changed()
	}
}

// startLogin reads the operator's card and asks for the PIN if the card
// holder is an authorised administrator (AD-1).
func (m *Manager) startLogin(ctx context.Context, reader string) {
	m.note = nil
	m.login = &login{reader: reader}
	defer m.changed()
	card, err := m.reader.ReadCard(ctx, reader)
	if err != nil {
		m.log.Warn("operator card could not be read", "err", err)
		m.login.err = ptr(msg("card_unreadable", "Kortet kunde inte läsas. Ta ut det och försök igen.", "The card could not be read. Remove it and try again."))
		return
	}
	m.login.serial = card.Serial
	m.login.retries = card.PINRetries
	if card.HSAID == "" {
		m.login.err = ptr(msg("not_operator_card", "Det här är inte ett personligt SITHS-kort. Sätt i ditt eget kort.", "This is not a personal SITHS card. Insert your own card."))
		return
	}
	h, err := ident.ParseHSAID(card.HSAID)
	if err != nil {
		m.login.err = &messagesOf(err)[0]
		return
	}
	admins, err := m.st.AuthorisedAdmins(ctx)
	if err != nil {
		m.log.Error("read operators", "err", err)
		m.login.err = ptr(msg("internal", "Stationen kunde inte läsa listan över administratörer.", "The station could not read the list of administrators."))
		return
	}
	if v := rules.CheckOperator(rules.Operator{Person: rules.Person{HSAID: h}}, admins); v != nil {
		m.login.err = &messagesOf(v)[0]
		return
	}
	// BL-1: an operator card the registry has blocked (lost, stolen,
	// misused) does not log in, whatever its PIN.
	if err := m.checkNotBlocked(ctx, card.Serial); err != nil {
		m.login.err = &messagesOf(err)[0]
		return
	}
	name, err := m.st.OperatorName(ctx, h)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		m.log.Error("read operator name", "err", err)
	}
	m.login.hsaID, m.login.name = h, name
	if card.PINBlocked() {
		m.login.err = ptr(msg("pin_blocked", "Kortets PIN är spärrad. Kontakta din korthandläggare.", "The card's PIN is blocked. Contact your card administrator."))
	}
}

// verifyPIN checks the PIN on the card itself and starts the session.
func (m *Manager) verifyPIN(ctx context.Context, client string, pin []byte) (any, error) {
	defer clear(pin)
	switch {
	case m.sess != nil && client == m.owner:
		return nil, refuse(msg("logged_in", "Du är redan inloggad.", "You are already logged in."))
	case m.sess != nil:
		m.refused(ctx, client, "session.pin_refused", "session held by another connection")
		return nil, errElsewhere
	case m.login == nil || m.login.hsaID.IsZero():
		return nil, refuse(msg("no_login", "Sätt i ditt kort först.", "Insert your card first."))
	case m.login.claimedBy != "" && m.login.claimedBy != client:
		m.refused(ctx, client, "session.pin_refused", "login claimed by another connection")
		return nil, errElsewhere
	}
	lg := m.login
	lg.claimedBy = client
	err := m.reader.VerifyPIN(ctx, lg.reader, pin)
	var pe *cardreader.PINError
	switch {
	case errors.As(err, &pe):
		lg.retries = pe.Retries
		m.changed()
		return nil, refuse(msg("pin_wrong", fmt.Sprintf("Fel PIN. %d försök kvar.", pe.Retries), fmt.Sprintf("Wrong PIN. %d attempts left.", pe.Retries)))
	case errors.Is(err, cardreader.ErrPINBlocked):
		lg.retries = 0
		m.changed()
		return nil, refuse(msg("pin_blocked", "Kortets PIN är spärrad. Kontakta din korthandläggare.", "The card's PIN is blocked. Contact your card administrator."))
	case errors.Is(err, cardreader.ErrPINFormat):
		return nil, refuse(msg("pin_format", "PIN-koden ska vara 4 till 8 siffror.", "The PIN must be 4 to 8 digits."))
	case errors.Is(err, cardreader.ErrNoCard), errors.Is(err, cardreader.ErrCardRemoved):
		m.login = nil
		m.changed()
		return nil, refuse(msg("card_removed", "Kortet togs ut.", "The card was removed."))
	case err != nil:
		return nil, fmt.Errorf("verify PIN: %w", err)
	}
	now := m.clock.Now()
	s := &session{id: uuid.NewString(), reader: lg.reader, serial: lg.serial, hsaID: lg.hsaID, name: lg.name, since: now, lastSeen: now}
	err = m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordLogin(ctx, sessionOf(s), s.serial, now) })
	if err != nil {
		return nil, err
	}
	m.login, m.sess, m.note = nil, s, nil
	m.owner, m.resume = client, rand.Text()
	m.stn.SetOperator(&station.Operator{SessionID: s.id, HSAID: s.hsaID.String(), Name: s.name, Since: now})
	m.changed()
	return map[string]string{"resume": m.resume}, nil
}

// resumeSession gives the session to client if it presents the secret
// handed to the connection that logged in (a reloaded page).
func (m *Manager) resumeSession(ctx context.Context, client, secret string) error {
	if m.sess == nil {
		return errNoSession
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(m.resume)) != 1 {
		m.refused(ctx, client, "session.resume_refused", "wrong resume secret")
		return errElsewhere
	}
	m.owner = client
	m.log.Info("session resumed on a new connection", "client", client)
	return nil
}

// refused records a request refused because the connection does not hold
// the session or the login: a security event, audited.
func (m *Manager) refused(ctx context.Context, client, kind, why string) {
	m.log.Warn("request from a connection without the session refused", "client", client, "why", why)
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		_, err := t.Audit(ctx, audit.Entry{Kind: kind, Actor: "ui:" + client, Subject: "session", Detail: map[string]any{"why": why}})
		return err
	})
	if err != nil {
		m.log.Error("refusal not audited", "err", err)
	}
}

// endSession records the end of the session and clears every personal
// datum it held. The caller holds m.mu and calls changed.
func (m *Manager) endSession(ctx context.Context, reason string) {
	s := m.sess
	m.sess, m.flow, m.login, m.homeErrors = nil, nil, nil, nil
	m.owner, m.resume = "", ""
	m.stn.SetOperator(nil)
	if s == nil {
		return
	}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordLogout(ctx, sessionOf(s), reason, m.clock.Now()) })
	if err != nil {
		m.log.Error("session end not recorded", "err", err)
	}
}

// handler wraps a request: it needs a session (unless open), counts as
// activity, runs under the lock and publishes the change.
func (m *Manager) handle(typ string, open bool, f func(ctx context.Context, client string, payload json.RawMessage) (any, error)) {
	m.stn.HandleFunc(typ, func(ctx context.Context, client string, payload json.RawMessage) (any, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		if !open && m.sess == nil {
			return nil, errNoSession
		}
		if !open && client != m.owner {
			m.refused(ctx, client, "session.request_refused", typ)
			return nil, errElsewhere
		}
		if open || client == m.owner {
			m.touch()
		}
		res, err := f(ctx, client, payload)
		m.changed()
		if err != nil {
			var msgs []Message
			var r *Refusal
			if errors.As(refusalOf(err), &r) {
				msgs = r.Messages
			}
			if client == m.owner {
				if m.flow != nil {
					m.flow.errors = msgs
				} else {
					m.homeErrors = msgs
				}
			}
			return nil, refusalOf(err)
		}
		if client == m.owner {
			m.homeErrors = nil
			if m.flow != nil {
				m.flow.errors = nil
			}
		}
		if res == nil {
			res = map[string]bool{"ok": true}
		}
		return res, nil
	})
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

func (m *Manager) register() {
	m.stn.HandleFunc("session.get", func(ctx context.Context, client string, _ json.RawMessage) (any, error) {
		return m.sessionState(ctx, client), nil
	})
	m.handle("session.pin", true, func(ctx context.Context, client string, payload json.RawMessage) (any, error) {
		defer clear(payload)
		var req struct {
			PIN json.RawMessage `json:"pin"`
		}
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, malformed(err)
		}
		return m.verifyPIN(ctx, client, bytes.Trim(req.PIN, `"`))
	})
	m.handle("session.resume", true, func(ctx context.Context, client string, payload json.RawMessage) (any, error) {
		var req struct {
			Secret string `json:"secret"`
		}
		if err := decode(payload, &req); err != nil {
			return nil, err
		}
		return nil, m.resumeSession(ctx, client, req.Secret)
	})
	m.handle("session.logout", false, func(ctx context.Context, _ string, _ json.RawMessage) (any, error) {
		m.endSession(ctx, "logout")
		m.note = ptr(msg("logged_out", "Du är utloggad. Ta ut ditt kort.", "You are logged out. Remove your card."))
		return nil, nil
	})
	m.handle("session.touch", false, func(context.Context, string, json.RawMessage) (any, error) { return nil, nil })
	m.handle("flow.start", false, func(ctx context.Context, _ string, payload json.RawMessage) (any, error) {
		var req struct {
			Kind string `json:"kind"`
		}
		if err := decode(payload, &req); err != nil {
			return nil, err
		}
		return nil, m.start(ctx, req.Kind)
	})
	m.handle("flow.cancel", false, func(context.Context, string, json.RawMessage) (any, error) {
		m.flow = nil
		return nil, nil
	})
	m.handle("flow.step", false, func(ctx context.Context, _ string, payload json.RawMessage) (any, error) {
		if m.flow == nil {
			return nil, errNoFlow
		}
		var req struct {
			Step string          `json:"step"`
			Data json.RawMessage `json:"data"`
		}
		if err := decode(payload, &req); err != nil {
			return nil, err
		}
		return nil, m.step(ctx, req.Step, req.Data)
	})
	m.stn.HandleFunc("status.station", func(ctx context.Context, _ string, _ json.RawMessage) (any, error) {
		return m.stationStatus(ctx)
	})
}
