package counter

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/x509"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
)

// The operator's session (AD-1, PIN on the card). The session belongs to
// the UI connection that logged in: other connections see that the station
// is in use elsewhere, and their requests and PINs are refused and audited.

type login struct {
	// claimedBy is the connection that sent the first PIN: the login is
	// its own from then on, so no other connection can send PINs to the
	// card (and block it).
	claimedBy string
	reader    string
	cert      *x509.Certificate // the card's, proven only after the PIN
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
	warned   bool // the screen warns that the idle lock is near
}

func (s *session) operator() rules.Operator {
	return rules.Operator{Person: rules.Person{HSAID: s.hsaID}, Name: s.name}
}

// changed tells every UI that the session view changed. The event carries
// only a revision: the view itself, which holds personal data while a flow
// runs, is fetched with session.get.
func (m *Counter) changed() {
	m.rev++
	m.bus.Publish("session.changed", m.clock.Now(), map[string]uint64{"rev": m.rev})
}

// touch records activity for the idle timeout.
func (m *Counter) touch() {
	if m.sess != nil {
		m.sess.lastSeen = m.clock.Now()
		m.sess.warned = false
	}
}

// readers returns the operator's and the card reader's names.
func (m *Counter) readers() (op, card string) {
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

// onCard moves the session on a card event: a card in the operator's
// reader starts a login, taking it out ends the session; a card in the
// card reader is read into the flow.
func (m *Counter) onCard(ctx context.Context, ev cardreader.Event) {
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
			m.note = ptr(msg("card_removed", "Du loggades ut när kortet togs ut. Sätt i det igen för att logga in.", "You were logged out when the card was removed. Insert it again to log in."))
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
		if m.flow.attLogin != nil && m.flow.attLogin.reader == ev.Reader {
			m.flow.attLogin = nil // the attestor took their card before the PIN
		}
		m.changed()
	case ev.Kind == cardreader.ReaderDetached && ev.Reader == opReader && m.sess != nil:
		m.endSession(ctx, "card_removed")
		m.changed()
	}
}

// startLogin reads the operator's card and asks for the PIN if the card
// holder is an authorised administrator (AD-1).
func (m *Counter) startLogin(ctx context.Context, reader string) {
	m.note = nil
	m.login = &login{reader: reader}
	defer m.changed()
	if m.updating != "" {
		m.login.err = ptr(errUpdating)
		return
	}
	card, err := m.reader.ReadCard(ctx, reader)
	if err != nil {
		m.log.Warn("operator card could not be read", "err", err)
		m.login.err = ptr(msg("card_unreadable", "Kortet kunde inte läsas. Ta ut det och försök igen.", "The card could not be read. Remove it and try again."))
		return
	}
	m.login.serial = card.Serial
	m.login.retries = card.PINRetries
	m.login.cert = card.Certificate
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
		m.login.err = ptr(msg("internal", "Stationen kunde inte läsa listan över administratörer. Ta ut kortet och försök igen; kontakta driften om det händer igen.", "The station could not read the list of administrators. Remove the card and try again; contact operations if it happens again."))
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
func (m *Counter) verifyPIN(ctx context.Context, client string, pin []byte) (any, error) {
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
	if err != nil {
		retries, removed, perr := pinProblem(err)
		switch {
		case removed:
			m.login = nil
		case retries >= 0:
			lg.retries = retries
		}
		// A refused PIN is a security event: audited with its reason and
		// the card's serial (never the PIN).
		m.auditUnproven(ctx, "session.login_refused", lg.serial, perr)
		m.changed()
		return nil, perr
	}
	// The PIN opened the card: now it must prove its certificate's key,
	// and the certificate must be one the station trusts.
	id, err := m.prove(ctx, lg.reader, lg.cert)
	if err == nil && id.HSAID != lg.hsaID {
		err = trust.ErrBadSignature // not the certificate the card showed before its PIN
	}
	if err != nil {
		m.auditUnproven(ctx, "session.login_refused", lg.serial, err)
		if p, ok := problem.Of(err).(*problem.Problem); ok && len(p.Messages) > 0 {
			lg.err = &p.Messages[0]
			lg.hsaID = ident.HSAID{} // no more PINs for this card
		}
		m.changed()
		return nil, problem.Of(err)
	}
	now := m.clock.Now()
	s := &session{id: uuid.NewString(), reader: lg.reader, serial: lg.serial, hsaID: lg.hsaID, name: lg.name, since: now, lastSeen: now}
	err = m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordLogin(ctx, sessionOf(s), s.serial, now) })
	if err != nil {
		return nil, err
	}
	m.login, m.sess, m.note = nil, s, nil
	m.owner, m.resume = client, rand.Text()
	m.changed()
	return map[string]string{"resume": m.resume}, nil
}

// resumeSession gives the session to client if it presents the secret
// last handed to the session's connection (a reloaded page), and returns
// the next one: a secret takes the session once, so a copy of it replayed
// later (by whoever read it) is refused.
func (m *Counter) resumeSession(ctx context.Context, client, secret string) (string, error) {
	if m.sess == nil {
		return "", errNoSession
	}
	if m.resume == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(m.resume)) != 1 {
		m.refused(ctx, client, "session.resume_refused", "wrong resume secret")
		return "", errElsewhere
	}
	m.owner, m.resume = client, rand.Text()
	m.log.Info("session resumed on a new connection", "client", client)
	return m.resume, nil
}

// refused records a request refused because the connection does not hold
// the session or the login: a security event, audited.
func (m *Counter) refused(ctx context.Context, client, kind, why string) {
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
func (m *Counter) endSession(ctx context.Context, reason string) {
	s := m.sess
	m.sess, m.flow, m.login, m.homeErrors = nil, nil, nil, nil
	m.owner, m.resume = "", ""
	if s == nil {
		return
	}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordLogout(ctx, sessionOf(s), reason, m.clock.Now()) })
	if err != nil {
		m.log.Error("session end not recorded", "err", err)
	}
}

// drawerOpened lets the flow go on once the drawer is open in the session
// (RC-7). The caller holds m.mu.
func (m *Counter) drawerOpened(ctx context.Context) {
	f := m.flow
	if f == nil || m.sess == nil {
		return
	}
	f.drawerOpened = true
	m.touch()
	if f.kind == KindPickup && f.step == StepInsert && f.cardIn {
		// The card went in before the drawer was seen open: read it again
		// now.
		_, cardReader := m.readers()
		m.cardInserted(ctx, cardReader)
	}
	m.changed()
}

// Operator is the logged-in issuing administrator.
type Operator struct {
	SessionID string    `json:"session_id"`
	HSAID     string    `json:"hsa_id"`
	Name      string    `json:"name"`
	Since     time.Time `json:"since"`
}

// Operator returns who is logged in, if anyone.
func (m *Counter) Operator() (Operator, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sess == nil {
		return Operator{}, false
	}
	return Operator{SessionID: m.sess.id, HSAID: m.sess.hsaID.String(), Name: m.sess.name, Since: m.sess.since}, true
}

// pinProblem turns a card's answer to a PIN into what the screen says:
// attempts left (retries; -1 when the card did not say), whether the card
// was removed, and the refusal — or, for a failure that is not the
// person's, the error itself.
func pinProblem(err error) (retries int, removed bool, problem error) {
	var pe *cardreader.PINError
	switch {
	case errors.As(err, &pe):
		return pe.Retries, false, refuse(msg("pin_wrong", fmt.Sprintf("Fel PIN. %d försök kvar. Skriv PIN-koden igen.", pe.Retries), fmt.Sprintf("Wrong PIN. %d attempts left. Type the PIN again.", pe.Retries)))
	case errors.Is(err, cardreader.ErrPINBlocked):
		return 0, false, refuse(msg("pin_blocked", "Kortets PIN är spärrad. Kontakta din korthandläggare.", "The card's PIN is blocked. Contact your card administrator."))
	case errors.Is(err, cardreader.ErrPINFormat):
		return -1, false, refuse(msg("pin_format", "PIN-koden ska vara 4 till 8 siffror.", "The PIN must be 4 to 8 digits."))
	case errors.Is(err, cardreader.ErrNoCard), errors.Is(err, cardreader.ErrCardRemoved):
		return -1, true, refuse(msg("card_removed", "Kortet togs ut. Sätt i det igen och försök på nytt.", "The card was removed. Insert it again and try again."))
	}
	return -1, false, fmt.Errorf("verify PIN: %w", err)
}
