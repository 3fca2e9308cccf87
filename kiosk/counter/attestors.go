package counter

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Attestors prove who they are with their own SITHS card and PIN at the
// station (AT-1): during the identification step each puts their card in
// the card reader and types their PIN on the screen; the HSA-ID and the
// name are then the card certificate's, not typed. Attestors typed in by
// the operator are allowed only where the registry's policy for the
// station allows it (reference data station_policy), and are marked as
// unverified on the receipt and at the registry.

// typedAttestorsAllowed reports whether the registry's policy for this
// station, as last synced, allows attestors typed in by the operator. It
// fails closed: no policy from the registry, or one older than the
// freshness policy allows, means not allowed.
func (m *Counter) typedAttestorsAllowed(ctx context.Context) (bool, error) {
	p, err := m.st.StationPolicy(ctx)
	if err != nil {
		return false, err
	}
	if !p.TypedAttestors {
		return false, nil
	}
	err = m.opts.Freshness.Check(ctx, m.st, m.clock.Now(), protocol.RefStationPolicy)
	var stale *refdata.StaleError
	if errors.As(err, &stale) {
		return false, nil
	}
	return err == nil, err
}

// attestorLogin is an attestor's card in the card reader, waiting for its
// PIN.
type attestorLogin struct {
	cert    *x509.Certificate // proven only after the PIN
	reader  string
	serial  string
	hsaID   ident.HSAID
	name    string
	retries int
}

// attestorCardRead reads an attestor's card put in the card reader during
// the identification step.
func (m *Counter) attestorCardRead(ctx context.Context, f *flowState, reader string, card cardreader.Card) error {
	f.attLogin = nil
	if len(f.cardAttestors) >= rules.ReserveAttestors {
		return refuse(msg("attestors_full", "Två intygsgivare har redan legitimerat sig. Ta ut kortet.",
			"Two attestors have already identified. Remove the card."))
	}
	lg, err := m.attestorCard(ctx, f, reader, card)
	if err != nil {
		return err
	}
	for _, a := range f.cardAttestors {
		if a.HSAID == lg.hsaID {
			return refuse(msg("attestor_twice", "Den här intygsgivaren har redan legitimerat sig. Ta ut kortet; nästa intygsgivare sätter i sitt.", "This attestor has already identified. Remove the card; the next attestor inserts theirs."))
		}
	}
	f.attLogin = lg
	return nil
}

// attestorCard checks an attestor's card in the card reader before its
// PIN is asked: a personal SITHS card (AT-1), not the operator's or the
// recipient's (AT-3), not blocked (BL-1), its PIN not blocked.
func (m *Counter) attestorCard(ctx context.Context, f *flowState, reader string, card cardreader.Card) (*attestorLogin, error) {
	if card.HSAID == "" || card.Certificate == nil {
		return nil, refuse(msg("not_personal_card", "Det här är inte ett personligt SITHS-kort. Intygsgivaren sätter i sitt eget kort.",
			"This is not a personal SITHS card. The attestor inserts their own card."))
	}
	h, err := ident.ParseHSAID(card.HSAID)
	if err != nil {
		return nil, err
	}
	// AT-3: neither the issuing administrator nor the recipient attests.
	if h == m.sess.hsaID {
		return nil, violation.New("AT-3", violation.KeyAttestorIsOperator, "attestor", "")
	}
	if !f.recipient.HSAID.IsZero() && h == f.recipient.HSAID {
		return nil, violation.New("AT-3", violation.KeyAttestorIsRecipient, "attestor", "")
	}
	// AT-3: nor the recipient by a personal-number certificate on the card.
	if !f.recipient.PersonalNumber.IsZero() {
		for _, oc := range card.Others {
			pnr, err := ident.ParsePersonalNumberAt(oc.Subject.SerialNumber, m.clock.Now())
			if err == nil && pnr.String() == f.recipient.PersonalNumber.String() {
				return nil, violation.New("AT-3", violation.KeyAttestorIsRecipient, "attestor", "")
			}
		}
	}
	// BL-1: a blocked card proves nobody.
	if err := m.checkNotBlocked(ctx, card.Serial); err != nil {
		return nil, err
	}
	if card.PINBlocked() {
		return nil, refuse(msg("pin_blocked", "Kortets PIN är spärrad. Kontakta din korthandläggare.", "The card's PIN is blocked. Contact your card administrator."))
	}
	return &attestorLogin{cert: card.Certificate, reader: reader, serial: card.Serial, hsaID: h, name: card.Certificate.Subject.CommonName, retries: card.PINRetries}, nil
}

// attestorPIN verifies the attestor's PIN on their own card; the attestor
// is then proven and listed, in the role the operator chooses.
func (m *Counter) attestorPIN(ctx context.Context, f *flowState, data json.RawMessage) error {
	id, err := m.proveAttestor(ctx, f, data)
	if err != nil {
		return err
	}
	f.cardAttestors = append(f.cardAttestors, rules.Attestor{
		Person: rules.Person{HSAID: id.HSAID}, Name: id.Certificate.Subject.CommonName, Role: rules.RoleManager, Present: true, Proof: rules.ProofCard,
	})
	return nil
}

// proveAttestor verifies the PIN of the attestor's card waiting in the
// card reader and has the card prove its certificate (kiosk/trust); the
// login is then done, proven or not.
func (m *Counter) proveAttestor(ctx context.Context, f *flowState, data json.RawMessage) (trust.Identity, error) {
	defer clear(data)
	lg := f.attLogin
	if lg == nil {
		return trust.Identity{}, refuse(msg("attestor_no_card", "Intygsgivaren sätter först i sitt kort i kortläsaren.", "The attestor first inserts their card in the card reader."))
	}
	var req struct {
		PIN json.RawMessage `json:"pin"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return trust.Identity{}, malformed(err)
	}
	pin := bytes.Trim(req.PIN, `"`)
	defer clear(pin)
	err := m.reader.VerifyPIN(ctx, lg.reader, pin)
	if err != nil {
		retries, removed, perr := pinProblem(err)
		switch {
		case removed:
			f.attLogin = nil
		case retries >= 0:
			lg.retries = retries
		}
		var p *Refusal
		if errors.As(perr, &p) {
			m.auditAttestor(ctx, "attestor.pin_refused", lg, p.Key())
		}
		return trust.Identity{}, perr
	}
	// The card proves its certificate's key; the certificate must be one
	// the station trusts (kiosk/trust).
	id, err := m.prove(ctx, lg.reader, lg.cert)
	if err == nil && id.HSAID != lg.hsaID {
		err = trust.ErrBadSignature
	}
	if err != nil {
		f.attLogin = nil
		m.auditUnproven(ctx, "attestor.refused", lg.serial, err)
		return trust.Identity{}, problem.Of(err)
	}
	f.attLogin = nil
	m.auditAttestor(ctx, "attestor.verified", lg, "")
	return id, nil
}

// auditAttestor records an attestor's identification at the counter: the
// attestor by HSA-ID (as receipts name them), the session, no PIN.
func (m *Counter) auditAttestor(ctx context.Context, kind string, lg *attestorLogin, why string) {
	detail := map[string]any{"session": m.sess.id}
	if why != "" {
		detail["why"] = why
	}
	err := m.st.Update(ctx, m.clock, func(t *store.Tx) error {
		_, err := t.Audit(ctx, audit.Entry{Kind: kind, Actor: m.sess.hsaID.String(), Subject: lg.hsaID.String(), Detail: detail})
		return err
	})
	if err != nil {
		m.log.Error("attestor identification not audited", "err", err)
	}
}
