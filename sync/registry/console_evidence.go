package registry

// Approval with evidence (issue 14, item 1; CP-1). For each issuance the
// case officer sees what the station recorded: the signed receipt (its
// PDF, served by the receipt's own ID so no personal number is in the
// URL), the ID document or the attestors with how each proved who they
// are, the reason, validity, station and operator; and the findings of
// rules.CentralReview, run over the sealed receipt with the registry's
// facts about the recipient. The evidence page and the PDF show personal
// data: case officers only, every view audited.
//
// A decision (approve, or reject with a reason) is kept on the issuance
// with who made it, flows to the station as the card's state (card_status,
// pulled by the station) and, on approval, to the recipient's "ready to
// activate" notification (RE-5, notify.go). No certificate is approved
// during a total stop (CP-3).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/calendar"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/kiosk/rules/violation"
	"github.com/kortstation/kortstation/sync/protocol"
)

// ErrTotalStop: a total stop is on; the central service approves no
// certificates (CP-3).
var ErrTotalStop = errors.New("total stop (CP-3): no certificates are approved")

// DecideIssuance approves or rejects a pending issuance (CP-1): a reject
// needs a reason; an approval is refused during a total stop (CP-3). The
// decision, its reason and actor are kept on the issuance; the card's
// state goes to its station; an approval queues the recipient's "ready to
// activate" notice (RE-5).
func (s *Server) DecideIssuance(ctx context.Context, issuanceID string, approve bool, actor, reason string) error {
	reason = strings.TrimSpace(reason)
	if !approve && reason == "" {
		return fmt.Errorf("registry: reject %q: %w: a reason is required", issuanceID, ErrInvalid)
	}
	return s.decide(ctx, issuanceID, approve, actor, reason)
}

func (s *Server) decide(ctx context.Context, issuanceID string, approve bool, actor, reason string) error {
	decision, state := "rejected", protocol.CardRejected
	if approve {
		decision, state = "approved", protocol.CardApproved
	}
	now := s.now()
	nowS := now.UTC().Format(time.RFC3339Nano)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		if approve {
			ws, err := stopWindowsTx(ctx, tx)
			if err != nil {
				return err
			}
			if v := rules.CheckTotalStop(ws, now); v != nil {
				return fmt.Errorf("registry: approve %q: %w: %w: %w", issuanceID, ErrInvalid, ErrTotalStop, v)
			}
		}
		var station, serial, kind string
		err := tx.QueryRowContext(ctx, `UPDATE issuances SET decision = ?, decided_at = ?, decided_by = ?, decision_reason = ? WHERE id = ? AND decision = 'pending' RETURNING station_id, card_serial, kind`,
			decision, nowS, actor, reason, issuanceID).Scan(&station, &serial, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: pending issuance %q: %w", issuanceID, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := setCardStatus(ctx, tx, station, serial, state, nil, nowS); err != nil {
			return err
		}
		if !approve && kind == protocol.KindIssuance {
			return releaseReserveCard(ctx, tx, serial) // a rejected card is not out (RC-4)
		}
		if approve && kind == protocol.KindIssuance {
			return s.enqueueApproved(ctx, tx, issuanceID, serial, now) // RE-5: ready to activate (notify.go)
		}
		return nil
	})
}

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// stopWindowsTx reads the stop windows as the rules take them.
func stopWindowsTx(ctx context.Context, q queryer) ([]rules.StopWindow, error) {
	rows, err := q.QueryContext(ctx, `SELECT kind, starts, ends FROM stop_windows`)
	if err != nil {
		return nil, fmt.Errorf("registry: stop windows: %w", err)
	}
	defer rows.Close()
	var out []rules.StopWindow
	for rows.Next() {
		var k, st, en string
		if err := rows.Scan(&k, &st, &en); err != nil {
			return nil, fmt.Errorf("registry: stop windows: %w", err)
		}
		a, err1 := time.Parse(time.RFC3339, st)
		b, err2 := time.Parse(time.RFC3339, en)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("registry: stop windows: %w", err)
		}
		out = append(out, rules.StopWindow{Kind: rules.StopKind(k), Window: calendar.Window{Start: a, End: b}})
	}
	return out, rows.Err()
}

// Evidence is what a case officer sees of one issuance (CP-1).
type Evidence struct {
	Issuance       SearchHit
	Attestors      []Attestor
	Ground         string
	DecidedBy      string
	Receipt        *rules.SealedReceipt // nil: no receipt reached the registry
	ReceiptID      string
	ReceiptHasPDF  bool
	ReceiptCorrect int // receipts that correct an earlier one (RE-3)
	// Findings are CentralReview's violations; nil when it found none.
	Findings rules.Violations
	// ReviewError is why the review could not run (no receipt, or its
	// content not understood).
	ReviewError string
}

// IssuanceEvidence assembles the evidence of an issuance and runs
// rules.CentralReview over it.
func (s *Server) IssuanceEvidence(ctx context.Context, id string) (Evidence, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Evidence{}, fmt.Errorf("registry: evidence: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var e Evidence
	h := &e.Issuance
	err = tx.QueryRowContext(ctx, `SELECT `+searchCols+`, i.attestation_ground, i.decided_by FROM issuances i`+searchJoins+` WHERE i.id = ?`, id).Scan(
		&h.IssuanceID, &h.Station, &h.Kind, &h.CardSerial, &h.CardType, &h.Reason, &h.PersonalNumber,
		&h.Name, &h.RecipientHSAID, &h.Operator, &h.ValidFrom, &h.ValidUntil, &h.IssuedAt,
		&h.ReturnedAt, &h.VoidedAt, &h.Decision, &h.DecisionReason, &h.CardState, &h.ReceiptID, &e.Ground, &e.DecidedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Evidence{}, fmt.Errorf("registry: issuance %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Evidence{}, fmt.Errorf("registry: evidence: %w", err)
	}
	arows, err := tx.QueryContext(ctx, `SELECT hsa_id, proof FROM issuance_attestors WHERE issuance_id = ? ORDER BY pos`, id)
	if err != nil {
		return Evidence{}, fmt.Errorf("registry: evidence: %w", err)
	}
	for arows.Next() {
		var a Attestor
		if err := arows.Scan(&a.HSAID, &a.Proof); err != nil {
			arows.Close()
			return Evidence{}, fmt.Errorf("registry: evidence: %w", err)
		}
		e.Attestors = append(e.Attestors, a)
	}
	arows.Close()
	e.ReceiptID = h.ReceiptID
	if e.ReceiptID == "" {
		e.ReviewError = "no receipt"
		return e, nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM receipt_index WHERE issuance_id = ?`, id).Scan(&e.ReceiptCorrect); err != nil {
		return Evidence{}, fmt.Errorf("registry: evidence: %w", err)
	}
	e.ReceiptCorrect--
	rp, err := receiptPayload(ctx, tx, e.ReceiptID)
	if err != nil {
		return Evidence{}, err
	}
	e.ReceiptHasPDF = len(rp.PDF) > 0
	var sealed rules.SealedReceipt
	if err := json.Unmarshal(rp.Content, &sealed); err != nil {
		e.ReviewError = "receipt content not understood"
		return e, nil
	}
	e.Receipt = &sealed
	reg, err := s.reviewRegistry(ctx, tx, sealed.Receipt.Recipient, h.PersonalNumber)
	if err != nil {
		return Evidence{}, err
	}
	if err := rules.CentralReview(sealed, reg, s.now()); err != nil {
		e.Findings = violation.All(err)
		if len(e.Findings) == 0 {
			e.ReviewError = err.Error()
		}
	}
	return e, nil
}

// receiptPayload reads the stored receipt event with the receipt's ID.
func receiptPayload(ctx context.Context, tx *sql.Tx, receiptID string) (protocol.ReceiptPayload, error) {
	var raw []byte
	err := tx.QueryRowContext(ctx, `SELECT e.payload FROM receipt_index r JOIN events e ON e.station_id = r.station_id AND e.seq = r.seq
		WHERE r.receipt_id = ?`, receiptID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return protocol.ReceiptPayload{}, fmt.Errorf("registry: receipt %q: %w", receiptID, ErrNotFound)
	}
	if err != nil {
		return protocol.ReceiptPayload{}, fmt.Errorf("registry: receipt %q: %w", receiptID, err)
	}
	var p protocol.ReceiptPayload
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, fmt.Errorf("registry: receipt %q: %w", receiptID, err)
	}
	return p, nil
}

// ReceiptPDF is the PDF of the receipt with the given ID.
func (s *Server) ReceiptPDF(ctx context.Context, receiptID string) ([]byte, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("registry: receipt: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	p, err := receiptPayload(ctx, tx, receiptID)
	if err != nil {
		return nil, err
	}
	if len(p.PDF) == 0 {
		return nil, fmt.Errorf("registry: receipt %q has no PDF: %w", receiptID, ErrNotFound)
	}
	return p.PDF, nil
}

// reviewRegistry is what CentralReview needs to know: the recipient's
// facts (cards, orders, reserve cards at every station), the authorised
// operators (AD-1), the stops and the validity table.
func (s *Server) reviewRegistry(ctx context.Context, tx *sql.Tx, who rules.Person, pnr string) (rules.Registry, error) {
	var reg rules.Registry
	var err error
	if reg.StopWindows, err = stopWindowsTx(ctx, tx); err != nil {
		return reg, err
	}
	reg.Validity = rules.ValidityTable{}
	rows, err := tx.QueryContext(ctx, `SELECT reason, max_days FROM validity`)
	if err != nil {
		return reg, fmt.Errorf("registry: review: %w", err)
	}
	for rows.Next() {
		var r string
		var n int
		if err := rows.Scan(&r, &n); err != nil {
			rows.Close()
			return reg, fmt.Errorf("registry: review: %w", err)
		}
		reg.Validity[rules.Reason(r)] = n
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT hsa_id FROM operators WHERE authorised = 1`)
	if err != nil {
		return reg, fmt.Errorf("registry: review: %w", err)
	}
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			rows.Close()
			return reg, fmt.Errorf("registry: review: %w", err)
		}
		if id, err := ident.ParseHSAID(h); err == nil {
			reg.AuthorisedAdmins = append(reg.AuthorisedAdmins, id)
		}
	}
	rows.Close()
	if pnr == "" {
		return reg, nil
	}
	var raw string
	err = tx.QueryRowContext(ctx, `SELECT facts FROM person_facts WHERE personal_number = ? AND deleted = 0`, pnr).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return reg, nil
	}
	if err != nil {
		return reg, fmt.Errorf("registry: review: %w", err)
	}
	var f protocol.PersonFactsDoc
	if err := json.Unmarshal([]byte(raw), &f); err != nil {
		return reg, nil // not a facts document: the review finds no cards
	}
	for _, c := range f.RegularCards {
		ct := rules.CardType(c.Type)
		if !ct.Valid() || ct == rules.CardReserve {
			ct = rules.CardSIS
		}
		st := rules.StateActivated
		switch c.State {
		case "lost", "stolen", "broken", "damaged", "blocked":
			st = rules.StateBlocked
		}
		reg.Cards = append(reg.Cards, rules.Card{Number: c.Serial, Type: ct, State: st, Holder: who})
	}
	for i, o := range f.Orders {
		ord := rules.Order{ID: o.ID, Kind: rules.OrderKind(o.Type), Status: rules.OrderStatus(o.Status), CardType: rules.CardType(o.CardType), Holder: who}
		if ord.ID == "" {
			ord.ID = fmt.Sprintf("order-%d", i+1)
		}
		if ord.Status == "" {
			ord.Status = rules.OrderOpen
		}
		reg.Orders = append(reg.Orders, ord)
	}
	for _, c := range f.ReserveCards {
		card := rules.Card{Number: c.Serial, Type: rules.CardReserve, State: rules.StateApproved, Holder: who, Reason: rules.Reason(c.Reason), Station: c.Station}
		if st := rules.CardState(c.State); st != "" {
			card.State = st
		}
		if t, err := time.Parse(time.RFC3339, c.ValidUntil); err == nil {
			card.ValidUntil = t
		}
		reg.Cards = append(reg.Cards, card)
	}
	return reg, nil
}

// evidencePage is one issuance's evidence, with the decision's form.
var evidencePage = localized("evidence", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}: {{T "Evidence"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body><p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
{{with .E}}<h1>{{T "Evidence for approval (CP-1)"}}</h1>
<p><a href="/admin">{{T "Back to the console"}}</a></p>
<table class="evidence">
<tr><th>{{T "Issuance"}}</th><td>{{.Issuance.IssuanceID}} ({{T .Issuance.Kind}})</td></tr>
<tr><th>{{T "Recipient"}}</th><td class="recipient">{{.Issuance.Name}}, {{pnr .Issuance.PersonalNumber}}{{.Issuance.RecipientHSAID}}</td></tr>
<tr><th>{{T "Card"}}</th><td>{{.Issuance.CardSerial}}{{if .Issuance.CardState}} ({{T .Issuance.CardState}}){{end}}</td></tr>
<tr><th>{{T "Reason"}}</th><td>{{.Issuance.Reason}}</td></tr>
<tr><th>{{T "Valid"}}</th><td>{{day .Issuance.ValidFrom}} – {{day .Issuance.ValidUntil}}</td></tr>
<tr><th>{{T "Station"}}</th><td>{{.Issuance.Station}}</td></tr>
<tr><th>{{T "Operator"}}</th><td>{{.Issuance.Operator}}</td></tr>
<tr><th>{{T "Issued"}}</th><td>{{when .Issuance.IssuedAt}}</td></tr>
<tr><th>{{T "Recipient identified by"}}</th><td class="identified">{{if .Receipt}}{{with .Receipt.Receipt.Document}}{{T "ID document"}}: <span class="document">{{.Type}} {{.Number}}, {{T "valid until"}} {{.Expiry}}{{if .Damaged}}, <strong class="alarm">{{T "damaged"}}</strong>{{end}}</span>{{end}}{{end}}
{{if .Attestors}}{{T "attestors"}} ({{T "ID-6 ground"}}: {{T (ground .Ground)}}):<ul>{{range $i, $a := .Attestors}}<li class="attestor">{{$a.HSAID}}{{with $.Names}}{{with index . $i}} ({{.}}){{end}}{{end}}: {{if $a.Verified}}{{T "verified by SITHS card"}}{{else}}<strong>{{T "typed in — NOT verified"}}</strong>{{end}}</li>{{end}}</ul>{{end}}</td></tr>
<tr><th>{{T "Receipt"}}</th><td>{{if .ReceiptHasPDF}}<a class="receipt-pdf" href="/admin/receipt/{{.ReceiptID}}">{{T "Signed receipt (PDF)"}}</a>{{else if .ReceiptID}}{{T "receipt without PDF"}}{{else}}<strong class="alarm">{{T "no receipt has reached the registry"}}</strong>{{end}}{{if .ReceiptCorrect}} · {{.ReceiptCorrect}} {{T "correction(s)"}}{{end}}</td></tr>
<tr><th>{{T "Central review"}}</th><td class="findings">{{if .ReviewError}}<strong class="alarm">{{T "The review could not run"}}: {{T .ReviewError}}</strong>{{else if .Findings}}<ul>{{range $.FindingTexts}}<li class="finding">{{.}}</li>{{end}}</ul>{{else}}<span class="no-findings">{{T "No findings: the rules allow approval."}}</span>{{end}}</td></tr>
<tr><th>{{T "Decision"}}</th><td>{{T .Issuance.Decision}}{{if .DecidedBy}} {{T "by"}} {{.DecidedBy}}{{end}}{{if .Issuance.DecisionReason}}: {{.Issuance.DecisionReason}}{{end}}</td></tr>
</table>
{{if and (eq .Issuance.Decision "pending") $.CanCase}}<form method="post" action="/admin/issuance" class="decide"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.Issuance.IssuanceID}}"><button name="decision" value="approve">{{T "Approve"}}</button> <input name="reason" placeholder="{{T "reason (to reject)"}}" aria-label="{{T "reason (to reject)"}}"> <button name="decision" value="reject">{{T "Reject"}}</button></form>{{end}}
{{end}}</body></html>`)

// evidenceRoutes adds the evidence page and the receipt PDF.
func (c *Console) evidenceRoutes(get func(string, Role, http.HandlerFunc)) {
	get("/admin/issuance/{id}", RoleCaseOfficer, c.evidencePage)
	get("/admin/receipt/{id}", RoleCaseOfficer, c.receiptPDF)
}

func (c *Console) evidencePage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if !c.auditView(w, r, "personal_data.view", "issuance "+id, "evidence for approval: recipient's name and personal number, ID document, attestors, central review") {
		return
	}
	e, err := c.s.IssuanceEvidence(ctx, id)
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.s.log.Error("evidence page", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	p := principalFrom(ctx)
	v := struct {
		E            Evidence
		Names        []string
		FindingTexts []string
		CSRF         string
		CanCase      bool
	}{E: e, CSRF: p.sess.csrf, CanCase: p.can(RoleCaseOfficer)}
	if e.Receipt != nil {
		for _, a := range e.Receipt.Receipt.Attestors {
			v.Names = append(v.Names, a.Name)
		}
	}
	for _, f := range e.Findings {
		if f.Key == violation.KeyCentralRejects {
			continue
		}
		v.FindingTexts = append(v.FindingTexts, f.Message(p.lang)+" ("+f.Rule+")")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := evidencePage[p.lang].Execute(w, v); err != nil {
		c.s.log.Error("render evidence page", "err", err)
	}
}

// receiptPDF serves a receipt's PDF to a case officer, audited as a view
// of personal data; by the receipt's ID, never a personal number.
func (c *Console) receiptPDF(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	pdf, err := c.s.ReceiptPDF(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.s.log.Error("receipt pdf", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	if !c.auditView(w, r, "personal_data.view", "receipt "+id, "signed receipt PDF (recipient's name, personal number, signature)") {
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	// A download, opened in the officer's PDF reader: the console's CSP
	// (default-src 'none') is on every response, and a browser's own PDF
	// viewer may refuse to run under it.
	w.Header().Set("Content-Disposition", `attachment; filename="receipt-`+id+`.pdf"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(pdf)
}

// queueEvidence adds to the approval queue what the console page shows
// of each issuance beyond its row: the operator and receipt, and for the
// pending ones CentralReview's rule IDs (the evidence page has the text).
func (s *Server) queueEvidence(ctx context.Context, is []Issuance) error {
	for i := range is {
		var op, rid string
		err := s.db.reader.QueryRowContext(ctx, `SELECT i.operator, coalesce((SELECT r.receipt_id FROM receipt_index r WHERE r.issuance_id = i.id ORDER BY r.seq DESC LIMIT 1), '')
			FROM issuances i WHERE i.id = ?`, is[i].ID).Scan(&op, &rid)
		if err != nil {
			return fmt.Errorf("registry: queue evidence: %w", err)
		}
		is[i].Operator, is[i].ReceiptID = op, rid
		if is[i].Decision != "pending" {
			continue
		}
		e, err := s.IssuanceEvidence(ctx, is[i].ID)
		if err != nil {
			return err
		}
		switch {
		case e.ReviewError != "":
			is[i].Findings = []string{e.ReviewError}
		case len(e.Findings) > 0:
			is[i].Findings = violation.Violations(e.Findings[1:]).Rules()
			if len(is[i].Findings) == 0 {
				is[i].Findings = e.Findings.Rules()
			}
		default:
			is[i].Reviewed = true
		}
	}
	return nil
}
