package counter

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/hw/cardreader"
	"github.com/kortstation/kortstation/kiosk/problem"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Changes of administrators at the station (AD-1, AD-2; seed 004). The
// logged-in administrator lists the station's administrators and the
// changes asked for, and enters a new one: appoint (name, HSA-ID, e-mail,
// telephone) or remove. The manager who asks for it then proves who they
// are with their own SITHS card and PIN in the card reader — not the
// logged-in administrator, not the appointee — and vouches for the
// appointee's training (a tick on the screen, recorded). The change is
// planned with rules.PlanAdminChange against the registry's list, stored
// with its audit entry and sent to the central service as an admin_change
// event (AD-2); it shows as pending until the registry's decision arrives.
// A removal is in force here at once (store.AuthorisedAdmins); an
// appointee can log in once the registry has approved (AD-1).

// adminFlow is a change of administrators being entered.
type adminFlow struct {
	input   *AdminChangeInput
	manager *rules.Attestor // the manager, proven by their own card
}

// AdminChangeInput is what the operator types for a change.
type AdminChangeInput struct {
	Change            string `json:"change"` // "appointed" or "removed"
	Admin             string `json:"admin"`  // HSA-ID
	Name              string `json:"name"`
	Email             string `json:"email"`
	Phone             string `json:"phone"`
	TrainingConfirmed bool   `json:"training_confirmed"`
}

func (m *Counter) adminsStep(ctx context.Context, f *flowState, step Action, data json.RawMessage) error {
	a := f.admins
	switch {
	case step == ActRequest && f.step == StepList:
		var in AdminChangeInput
		if err := decode(data, &in); err != nil {
			return err
		}
		return m.adminRequest(ctx, f, in)
	case step == ActManagerPIN && f.step == StepManager:
		return m.managerPIN(ctx, f, data)
	case step == ActConfirm && f.step == StepManager:
		if a.manager == nil {
			return refuse(Message{Rule: "AD-1", Key: "admin.manager_missing", Text: map[string]string{
				"sv": "Chefen sätter i sitt eget SITHS-kort i kortläsaren och skriver sin PIN innan ändringen kan skickas.",
				"en": "The manager inserts their own SITHS card in the card reader and types their PIN before the change can be sent."}})
		}
		return m.commitAdminChange(ctx, f)
	case step == ActList && f.step == StepDone:
		f.admins = &adminFlow{}
		f.result = nil
		f.step = StepList
		return nil
	}
	return errWrongStep
}

// adminRequest checks what was typed and asks for the manager.
func (m *Counter) adminRequest(ctx context.Context, f *flowState, in AdminChangeInput) error {
	in.Name, in.Email, in.Phone = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email), strings.TrimSpace(in.Phone)
	if in.Change != string(rules.AdminAppointed) && in.Change != string(rules.AdminRemoved) {
		return refuse(msg("admin.change_kind", "Välj om administratören ska utses eller tas bort.", "Choose whether the administrator is appointed or removed."))
	}
	h, err := ident.ParseHSAID(strings.ToUpper(strings.TrimSpace(in.Admin)))
	if err != nil {
		return err
	}
	in.Admin = h.String()
	admins, err := m.st.AuthorisedAdmins(ctx)
	if err != nil {
		return err
	}
	pending, err := m.st.AdminRequests(ctx, 500)
	if err != nil {
		return err
	}
	for _, p := range pending {
		if p.Status == protocol.AdminPending && p.Admin == in.Admin {
			return refuse(Message{Rule: "AD-2", Key: "admin.pending", Text: map[string]string{
				"sv": "En ändring för den här administratören väntar redan på beslut hos den centrala tjänsten.",
				"en": "A change for this administrator is already waiting for the central service's decision."}})
		}
	}
	authorised := slices.Contains(admins, h)
	switch {
	case in.Change == string(rules.AdminAppointed) && authorised:
		return refuse(Message{Rule: "AD-1", Key: "admin.already", Text: map[string]string{
			"sv": "Administratören är redan behörig på den här stationen.", "en": "The administrator is already authorised at this station."}})
	case in.Change == string(rules.AdminRemoved) && !authorised:
		return refuse(Message{Rule: "AD-1", Key: "admin.not_listed", Text: map[string]string{
			"sv": "Administratören är inte behörig på den här stationen. Kontrollera HSA-id.", "en": "The administrator is not authorised at this station. Check the HSA-ID."}})
	}
	if in.Change == string(rules.AdminRemoved) && in.Name == "" {
		if n, err := m.st.OperatorName(ctx, h); err == nil {
			in.Name = n
		}
	}
	// What the manager cannot repair at the next step is refused now
	// (AD-1, AD-2: the appointee's details); the rest once they signed in.
	c := m.adminChange(in, ident.HSAID{})
	c.Manager = m.sess.hsaID // a placeholder: the manager is checked at commit
	if _, err := rules.PlanAdminChange(c, admins); err != nil {
		return err
	}
	f.admins.input, f.admins.manager, f.attLogin = &in, nil, nil
	f.step = StepManager
	return nil
}

func (m *Counter) adminChange(in AdminChangeInput, manager ident.HSAID) rules.AdminChange {
	h, _ := ident.ParseHSAID(in.Admin)
	return rules.AdminChange{Kind: rules.AdminChangeKind(in.Change), Admin: h, Name: in.Name, Email: in.Email, Phone: in.Phone,
		Manager: manager, TrainingConfirmed: in.TrainingConfirmed, At: m.clock.Now()}
}

// managerCardRead reads the manager's card put in the card reader.
func (m *Counter) managerCardRead(ctx context.Context, f *flowState, reader string, card cardreader.Card) error {
	f.attLogin, f.admins.manager = nil, nil
	if card.HSAID == "" || card.Certificate == nil {
		return refuse(msg("not_personal_card", "Det här är inte ett personligt SITHS-kort. Chefen sätter i sitt eget kort.",
			"This is not a personal SITHS card. The manager inserts their own card."))
	}
	h, err := ident.ParseHSAID(card.HSAID)
	if err != nil {
		return err
	}
	if err := m.checkManager(f, h); err != nil {
		return err
	}
	if err := m.checkNotBlocked(ctx, card.Serial); err != nil { // BL-1
		return err
	}
	if card.PINBlocked() {
		return refuse(msg("pin_blocked", "Kortets PIN är spärrad. Kontakta din korthandläggare.", "The card's PIN is blocked. Contact your card administrator."))
	}
	f.attLogin = &attestorLogin{cert: card.Certificate, reader: reader, serial: card.Serial, hsaID: h, name: card.Certificate.Subject.CommonName, retries: card.PINRetries}
	return nil
}

// checkManager: the manager is another person than the logged-in
// administrator and the administrator changed (AD-1).
func (m *Counter) checkManager(f *flowState, h ident.HSAID) error {
	if h == m.sess.hsaID {
		return refuse(Message{Rule: "AD-1", Key: "admin.manager_is_operator", Text: map[string]string{
			"sv": "Chefen ska legitimera sig med sitt eget kort, inte ditt. Be chefen sätta i sitt kort.",
			"en": "The manager identifies with their own card, not yours. Ask the manager to insert their card."}})
	}
	if f.admins.input != nil && h.String() == f.admins.input.Admin {
		return refuse(Message{Rule: "AD-1", Key: "admin.manager_is_admin", Text: map[string]string{
			"sv": "Administratören kan inte utse eller ta bort sig själv. Chefen sätter i sitt eget kort.",
			"en": "The administrator cannot appoint or remove themselves. The manager inserts their own card."}})
	}
	return nil
}

// managerPIN verifies the manager's PIN on their own card; the card then
// proves the certificate's key and the certificate is checked against the
// station's trust (as for an attestor, attestors.go).
func (m *Counter) managerPIN(ctx context.Context, f *flowState, data json.RawMessage) error {
	defer clear(data)
	lg := f.attLogin
	if lg == nil {
		return refuse(msg("manager_no_card", "Chefen sätter först i sitt kort i kortläsaren.", "The manager first inserts their card in the card reader."))
	}
	var req struct {
		PIN json.RawMessage `json:"pin"`
	}
	if err := json.Unmarshal(data, &req); err != nil {
		return malformed(err)
	}
	pin := []byte(strings.Trim(string(req.PIN), `"`))
	defer clear(pin)
	if err := m.reader.VerifyPIN(ctx, lg.reader, pin); err != nil {
		retries, removed, perr := pinProblem(err)
		switch {
		case removed:
			f.attLogin = nil
		case retries >= 0:
			lg.retries = retries
		}
		var p *Refusal
		if errors.As(perr, &p) {
			m.auditAttestor(ctx, "admin_change.manager_pin_refused", lg, p.Key())
		}
		return perr
	}
	id, err := m.prove(ctx, lg.reader, lg.cert)
	if err == nil && id.HSAID != lg.hsaID {
		err = trust.ErrBadSignature
	}
	if err != nil {
		f.attLogin = nil
		m.auditUnproven(ctx, "admin_change.manager_refused", lg.serial, err)
		return problem.Of(err)
	}
	f.admins.manager = &rules.Attestor{Person: rules.Person{HSAID: id.HSAID}, Name: id.Certificate.Subject.CommonName,
		Role: rules.RoleManager, Present: true, Proof: rules.ProofCard}
	f.attLogin = nil
	m.auditAttestor(ctx, "admin_change.manager_verified", lg, "")
	return nil
}

// commitAdminChange plans the change with rules.PlanAdminChange and
// records it with its audit entry and its event for the registry.
func (m *Counter) commitAdminChange(ctx context.Context, f *flowState) error {
	a := f.admins
	admins, err := m.st.AuthorisedAdmins(ctx)
	if err != nil {
		return err
	}
	if err := m.checkManager(f, a.manager.HSAID); err != nil {
		return err
	}
	c := m.adminChange(*a.input, a.manager.HSAID)
	d, err := rules.PlanAdminChange(c, admins)
	if err != nil {
		return err
	}
	p := protocol.AdminChangePayload{RequestID: "AD-" + strings.ToUpper(uuid.NewString()[:13]), Station: m.info.ID, Change: string(c.Kind),
		Admin: c.Admin.String(), Name: c.Name, Email: c.Email, Phone: c.Phone, Manager: c.Manager.String(), ManagerName: a.manager.Name,
		ManagerProof: protocol.ManagerProofCard, TrainingConfirmed: c.TrainingConfirmed, Operator: m.sess.hsaID.String(), At: c.At}
	sess := sessionOf(m.sess)
	if err := recorded(m.st.Update(ctx, m.clock, func(t *store.Tx) error { return t.RecordAdminRequest(ctx, p, sess) })); err != nil {
		return err
	}
	f.result = map[string]any{"request_id": p.RequestID, "change": p.Change, "admin": p.Admin, "name": p.Name,
		"revoked_here": d.RevokeLocally, "authorised_now": d.AuthorisedNow, "sent_to_central": d.SendToCentral}
	a.input, a.manager = nil, nil
	f.step = StepDone
	return nil
}

// adminsView shows the station's administrators and changes, and the
// change being entered.
func (m *Counter) adminsView(ctx context.Context, f *flowState, d map[string]any) {
	a := f.admins
	if f.step == StepList {
		admins, err := m.st.Admins(ctx)
		if err != nil {
			m.log.Error("read administrators", "err", err)
		}
		list := []map[string]any{}
		for _, x := range admins {
			list = append(list, map[string]any{"hsa_id": x.HSAID, "name": x.Name, "authorised": x.Authorised})
		}
		d["admins"] = list
		reqs, err := m.st.AdminRequests(ctx, 50)
		if err != nil {
			m.log.Error("read administrator changes", "err", err)
		}
		rl := []map[string]any{}
		for _, r := range reqs {
			v := map[string]any{"id": r.ID, "change": r.Change, "admin": r.Admin, "name": r.Name, "status": r.Status,
				"source": r.Source, "at": minuteText(r.RequestedAt)}
			if r.Reason != "" {
				v["reason"] = r.Reason
			}
			if !r.DecidedAt.IsZero() {
				v["decided_at"] = minuteText(r.DecidedAt)
			}
			rl = append(rl, v)
		}
		d["requests"] = rl
	}
	if a.input != nil {
		d["change"] = a.input
	}
	if a.manager != nil {
		d["manager"] = map[string]any{"name": a.manager.Name, "hsa_id": a.manager.HSAID.String()}
	}
	if lg := f.attLogin; lg != nil && f.step == StepManager {
		d["manager_login"] = map[string]any{"name": lg.name, "retries": lg.retries}
	}
}
