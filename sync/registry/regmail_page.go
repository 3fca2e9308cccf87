package registry

// The console's pages for reserve cards by registered mail (regmail.go):
// the list of envelopes with the form to register one, each envelope's
// page with its next step, the letter and manual receipt (PDF) and the
// archived scan of the returned receipt. Case officers only; every page
// shows personal data and is audited as personal_data.view; every step
// is audited (kind regmail.*) in the same transaction as its change,
// without the personal number, name or address.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/audit"
)

// regmailReturnAddress is where the recipient sends the signed receipt.
const regmailReturnAddress = "SITHS Servicecenter\nSvarspost\nReservkortskvittenser"

var regmailListPage = localized("regmail-list", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}: {{T "Reserve cards by registered mail"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body><p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
<h1>{{T "Reserve cards by registered mail"}}</h1>
<p><a href="/admin">{{T "Back to the console"}}</a></p>
<p>{{T "Only for LoA2 reserve cards, when the recipient is at a distance and no issuing administrator can meet them. The card is activated only when the signed receipt is back."}}</p>
{{if .Error}}<p class="alarm" role="alert">{{.Error}}</p>{{end}}
<h2>{{T "Register an envelope"}}</h2>
<form method="post" action="/admin/regmail" class="regmail-register"><input type="hidden" name="csrf" value="{{.CSRF}}"><input type="hidden" name="loa" value="2">
<table>
<tr><th><label for="rm-serial">{{T "Card serial (central stock)"}}</label></th><td><input id="rm-serial" name="serial" required maxlength="64"></td></tr>
<tr><th><label for="rm-pnr">{{T "Personal number"}}</label></th><td><input id="rm-pnr" name="personal_number" required maxlength="13" placeholder="{{T "YYYYMMDD-NNNN"}}" autocomplete="off"></td></tr>
<tr><th><label for="rm-name">{{T "Name"}}</label></th><td><input id="rm-name" name="name" required maxlength="200" autocomplete="off"></td></tr>
<tr><th><label for="rm-address">{{T "Postal address (the orderer's)"}}</label></th><td><textarea id="rm-address" name="address" required rows="4" cols="40"></textarea></td></tr>
<tr><th><label for="rm-reason">{{T "Reason"}}</label></th><td><select id="rm-reason" name="reason">{{range .Reasons}}<option value="{{.Value}}">{{.Label}}</option>{{end}}</select></td></tr>
<tr><th>{{T "Level of assurance"}}</th><td>LoA2</td></tr>
</table>
<button>{{T "Register envelope"}}</button></form>
<h2>{{T "Envelopes"}}</h2>
<table class="envelopes"><tr><th>{{T "Envelope"}}</th><th>{{T "Card"}}</th><th>{{T "Recipient"}}</th><th>{{T "State"}}</th><th>{{T "Registered"}}</th></tr>
{{range .Envelopes}}<tr class="envelope"><td><a href="/admin/regmail/{{.ID}}">{{.ID}}</a></td><td>{{.CardSerial}}</td><td>{{.Name}}</td><td class="state">{{T .State}}</td><td>{{when .RegisteredAt}}</td></tr>{{else}}<tr><td colspan="5">{{T "None."}}</td></tr>{{end}}
</table></body></html>`)

var regmailEnvelopePage = localized("regmail-envelope", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}: {{T "Envelope"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body><p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
<h1>{{T "Reserve card by registered mail"}}</h1>
<p><a href="/admin/regmail">{{T "All envelopes"}}</a> · <a href="/admin">{{T "Back to the console"}}</a></p>
{{if .Error}}<p class="alarm" role="alert">{{.Error}}</p>{{end}}
{{with .E}}<table class="envelope">
<tr><th>{{T "Envelope"}}</th><td>{{.ID}}</td></tr>
<tr><th>{{T "State"}}</th><td class="state">{{T .State}}</td></tr>
<tr><th>{{T "Card"}}</th><td>{{.CardSerial}} (LoA{{.LoA}})</td></tr>
<tr><th>{{T "Recipient"}}</th><td class="recipient">{{.Name}}, {{pnr .PersonalNumber}}</td></tr>
<tr><th>{{T "Postal address"}}</th><td class="address">{{range $.AddressLines}}{{.}}<br>{{end}}</td></tr>
<tr><th>{{T "Reason"}}</th><td>{{$.ReasonLabel}}</td></tr>
<tr><th>{{T "Identification method"}}</th><td class="id-method">{{T .IDMethod}}</td></tr>
<tr><th>{{T "Registered"}}</th><td>{{when .RegisteredAt}} {{T "by"}} {{.RegisteredBy}} · <a class="letter-pdf" href="/admin/regmail/{{.ID}}/letter.pdf">{{T "Cover letter and manual receipt (PDF)"}}</a></td></tr>
<tr><th>{{T "Sent by registered mail"}}</th><td>{{if .SentAt}}{{when .SentAt}} {{T "by"}} {{.SentBy}}, {{T "tracking number"}} <span class="tracking">{{.Tracking}}</span>{{else}}—{{end}}</td></tr>
<tr><th>{{T "Signed receipt returned"}}</th><td>{{if .ReceiptAt}}{{when .ReceiptAt}} {{T "by"}} {{.ReceiptBy}} · <a class="receipt-scan" href="/admin/regmail/{{.ID}}/scan">{{T "Archived receipt"}} ({{.ReceiptType}})</a> SHA-256 {{.ReceiptSHA256}}{{else}}—{{end}}</td></tr>
<tr><th>{{T "Activated"}}</th><td>{{if .ActivatedAt}}{{when .ActivatedAt}} {{T "by"}} {{.ActivatedBy}}, {{T "valid until"}} {{day .ValidUntil}}{{else}}—{{end}}</td></tr>
{{if .CancelledAt}}<tr><th>{{T "Cancelled"}}</th><td>{{when .CancelledAt}} {{T "by"}} {{.CancelledBy}}: {{.CancelReason}}</td></tr>{{end}}
</table>
{{if eq .State "registered"}}<h2>{{T "Send"}}</h2><form method="post" action="/admin/regmail/{{.ID}}/sent" class="regmail-sent"><input type="hidden" name="csrf" value="{{$.CSRF}}"><label for="rm-tracking">{{T "Tracking number of the registered letter"}}</label> <input id="rm-tracking" name="tracking" required maxlength="40"> <button>{{T "Mark as sent"}}</button></form>{{end}}
{{if eq .State "sent"}}<h2>{{T "Signed receipt returned"}}</h2><form method="post" action="/admin/regmail/{{.ID}}/receipt" enctype="multipart/form-data" class="regmail-receipt"><input type="hidden" name="csrf" value="{{$.CSRF}}"><label for="rm-scan">{{T "Scan of the signed receipt (PDF, PNG or JPEG, at most 8 MB)"}}</label> <input id="rm-scan" type="file" name="file" accept="application/pdf,image/png,image/jpeg" required> <button>{{T "Record the returned receipt"}}</button></form>{{end}}
{{if eq .State "receipt_returned"}}<h2>{{T "Activate"}}</h2><form method="post" action="/admin/regmail/{{.ID}}/activate" class="regmail-activate"><input type="hidden" name="csrf" value="{{$.CSRF}}"><button>{{T "Activate the card (identified by registered mail)"}}</button></form>{{end}}
{{if or (eq .State "registered") (eq .State "sent") (eq .State "receipt_returned")}}<h2>{{T "Cancel"}}</h2><form method="post" action="/admin/regmail/{{.ID}}/cancel" class="regmail-cancel"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input name="reason" required placeholder="{{T "reason"}}" aria-label="{{T "reason"}}"> <button>{{T "Cancel the envelope"}}</button></form>{{end}}
{{end}}</body></html>`)

type reasonOption struct{ Value, Label string }

// regmailRoutes adds the registered-mail pages and actions.
func (c *Console) regmailRoutes(mux *http.ServeMux, get func(string, Role, http.HandlerFunc)) {
	get("/admin/regmail", RoleCaseOfficer, func(w http.ResponseWriter, r *http.Request) { c.regmailList(w, r, http.StatusOK, "") })
	get("/admin/regmail/{id}", RoleCaseOfficer, func(w http.ResponseWriter, r *http.Request) {
		c.regmailEnvelope(w, r, r.PathValue("id"), http.StatusOK, "")
	})
	get("/admin/regmail/{id}/letter.pdf", RoleCaseOfficer, c.regmailLetter)
	get("/admin/regmail/{id}/scan", RoleCaseOfficer, c.regmailScan)
	mux.HandleFunc("POST /admin/regmail", c.regmailAct("regmail.register", func(r *http.Request, id string, d map[string]any) error {
		d["card_serial"] = strings.TrimSpace(r.PostFormValue("serial"))
		d["reason"] = r.PostFormValue("reason")
		d["loa"] = r.PostFormValue("loa")
		loa, err := strconv.Atoi(r.PostFormValue("loa"))
		if err != nil {
			return fmt.Errorf("%w: registered mail: level of assurance", ErrInvalid)
		}
		_, err = c.s.RegisterEnvelope(r.Context(), EnvelopeRequest{ID: id, CardSerial: r.PostFormValue("serial"), PersonalNumber: r.PostFormValue("personal_number"),
			Name: r.PostFormValue("name"), Address: r.PostFormValue("address"), Reason: r.PostFormValue("reason"), LoA: loa}, principalFrom(r.Context()).actor)
		return err
	}))
	mux.HandleFunc("POST /admin/regmail/{id}/sent", c.regmailAct("regmail.sent", func(r *http.Request, id string, d map[string]any) error {
		d["tracking"] = r.PostFormValue("tracking")
		return c.s.MarkEnvelopeSent(r.Context(), id, r.PostFormValue("tracking"), principalFrom(r.Context()).actor)
	}))
	mux.HandleFunc("POST /admin/regmail/{id}/receipt", c.regmailAct("regmail.receipt_returned", func(r *http.Request, id string, d map[string]any) error {
		b, declared, err := receiptUpload(r)
		if err != nil {
			return err
		}
		d["declared_type"], d["size"] = declared, len(b)
		d["sha256"] = fingerprint(b)
		return c.s.RecordReturnedReceipt(r.Context(), id, b, principalFrom(r.Context()).actor)
	}))
	mux.HandleFunc("POST /admin/regmail/{id}/activate", c.regmailAct("regmail.activate", func(r *http.Request, id string, d map[string]any) error {
		d["id_method"] = IDMethodRegisteredMail
		return c.s.ActivateEnvelope(r.Context(), id, principalFrom(r.Context()).actor)
	}))
	mux.HandleFunc("POST /admin/regmail/{id}/cancel", c.regmailAct("regmail.cancel", func(r *http.Request, id string, d map[string]any) error {
		d["reason"] = r.PostFormValue("reason")
		return c.s.CancelEnvelope(r.Context(), id, r.PostFormValue("reason"), principalFrom(r.Context()).actor)
	}))
}

// receiptUpload is the uploaded scan (multipart field "file") and the
// content type the browser declared (recorded, not trusted).
func receiptUpload(r *http.Request) ([]byte, string, error) {
	if err := r.ParseMultipartForm(MaxReceiptScan); err != nil {
		return nil, "", fmt.Errorf("%w: registered mail: no file: %w", ErrInvalid, err)
	}
	f, h, err := r.FormFile("file")
	if err != nil {
		return nil, "", fmt.Errorf("%w: registered mail: no file: %w", ErrInvalid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxReceiptScan+1))
	if err != nil {
		return nil, "", fmt.Errorf("%w: registered mail: reading the file: %w", ErrInvalid, err)
	}
	if len(b) == 0 || len(b) > MaxReceiptScan {
		return nil, "", ErrReceiptScanSize
	}
	return b, h.Header.Get("Content-Type"), nil
}

// regmailAct is one step of registered-mail issuance: case officers only
// (others refused and audited), audited in the change's own transaction
// (or on its own when it fails), then back to the envelope's page. do
// adds what the audit entry records to d (never personal data).
func (c *Console) regmailAct(kind string, do func(r *http.Request, id string, d map[string]any) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		id := r.PathValue("id")
		if id == "" {
			id = uuid.NewString()
		}
		subject := "envelope " + id
		if !p.can(RoleCaseOfficer) {
			c.refuse(w, r, p.actor, kind, subject, "role "+string(RoleCaseOfficer)+" required", nil)
			return
		}
		// do fills detail before its change commits, so the entry written
		// in the change's transaction carries what do recorded.
		detail := map[string]any{"from": r.RemoteAddr, "outcome": "ok"}
		pending := &pendingAudit{clk: c.s.clk}
		pending.entry = audit.Entry{Kind: kind, Actor: p.actor, Subject: subject, Detail: detail}
		err := do(r.WithContext(withPendingAudit(ctx, pending)), id, detail)
		status := http.StatusOK
		switch {
		case errors.Is(err, ErrInvalid):
			status = http.StatusBadRequest
		case errors.Is(err, ErrNotFound):
			status = http.StatusNotFound
		case err != nil:
			status = http.StatusInternalServerError
		}
		if !pending.written || err != nil {
			detail["outcome"] = map[int]string{http.StatusOK: "ok (no change)", http.StatusBadRequest: "invalid", http.StatusNotFound: "not found", http.StatusInternalServerError: "failed"}[status]
			if err != nil {
				detail["error"] = err.Error()
			}
			if aerr := c.s.AppendAdminAudit(ctx, audit.Entry{Kind: kind, Actor: p.actor, Subject: subject, Detail: detail}); aerr != nil {
				c.s.log.Error("console audit", "err", aerr)
				if err == nil {
					err, status = errors.New("registry: the action could not be recorded"), http.StatusInternalServerError
				}
			}
		}
		switch {
		case err == nil:
			http.Redirect(w, r, "/admin/regmail/"+id, http.StatusSeeOther)
		case r.PathValue("id") == "":
			c.regmailList(w, r, status, regmailErrorText(p.lang, err))
		default:
			c.regmailEnvelope(w, r, id, status, regmailErrorText(p.lang, err))
		}
	}
}

// regmailErrorText is a failed step as the page shows it.
func regmailErrorText(lang string, err error) string {
	switch {
	case errors.Is(err, ErrNotLoA2):
		return tr(lang, "Reserve cards by registered mail are LoA2 only. Nothing was changed.")
	case errors.Is(err, ErrNotInStock):
		return tr(lang, "That card is not in central stock (shipped to a station, handed out, blocked or in another envelope). Nothing was changed.")
	case errors.Is(err, ErrHasReserveCard):
		return tr(lang, "The person already has a reserve card or one on its way: one reserve card per person. Nothing was changed.")
	case errors.Is(err, ErrEnvelopeState):
		return tr(lang, "That step is not possible now: the card is activated only after the signed receipt is back. Nothing was changed.")
	case errors.Is(err, ErrReceiptScanType):
		return tr(lang, "The scan must be a PDF, PNG or JPEG file. Nothing was changed.")
	case errors.Is(err, ErrReceiptScanSize):
		return tr(lang, "The scan is empty or larger than 8 MB. Nothing was changed.")
	}
	return errorText(lang, err)
}

// reasonOptions are the validity table's reasons for the form.
func (c *Console) reasonOptions(r *http.Request, lang string) ([]reasonOption, error) {
	rows, err := c.s.db.reader.QueryContext(r.Context(), `SELECT reason FROM validity ORDER BY reason`)
	if err != nil {
		return nil, fmt.Errorf("registry: reasons: %w", err)
	}
	defer rows.Close()
	var out []reasonOption
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("registry: reasons: %w", err)
		}
		out = append(out, reasonOption{Value: v, Label: reasonLabel(lang, v)})
	}
	return out, rows.Err()
}

func reasonLabel(lang, v string) string {
	if l, ok := reasonSv[v]; ok && lang == langSv {
		return l
	}
	return strings.ReplaceAll(v, "_", " ")
}

func (c *Console) regmailList(w http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx := r.Context()
	if !c.auditView(w, r, "personal_data.view", "registered mail envelopes", "envelopes of reserve cards by registered mail (recipients' names)") {
		return
	}
	p := principalFrom(ctx)
	es, err := c.s.Envelopes(ctx)
	var reasons []reasonOption
	if err == nil {
		reasons, err = c.reasonOptions(r, p.lang)
	}
	if err != nil {
		c.s.log.Error("registered mail page", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	v := struct {
		Envelopes   []Envelope
		Reasons     []reasonOption
		CSRF, Error string
	}{es, reasons, p.sess.csrf, errText}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := regmailListPage[p.lang].Execute(w, v); err != nil {
		c.s.log.Error("render registered mail page", "err", err)
	}
}

func (c *Console) regmailEnvelope(w http.ResponseWriter, r *http.Request, id string, status int, errText string) {
	ctx := r.Context()
	if !c.auditView(w, r, "personal_data.view", "envelope "+id, "envelope of a reserve card by registered mail: recipient's name, personal number, postal address") {
		return
	}
	p := principalFrom(ctx)
	e, err := c.s.Envelope(ctx, id)
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.s.log.Error("envelope page", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	v := struct {
		E                        Envelope
		AddressLines             []string
		ReasonLabel, CSRF, Error string
	}{e, strings.Split(e.Address, "\n"), reasonLabel(p.lang, e.Reason), p.sess.csrf, errText}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := regmailEnvelopePage[p.lang].Execute(w, v); err != nil {
		c.s.log.Error("render envelope page", "err", err)
	}
}

// regmailLetter serves the cover letter and manual receipt to print.
func (c *Console) regmailLetter(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	e, err := c.s.Envelope(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	var pdf []byte
	if err == nil {
		pdf, err = EnvelopePDF(e, regmailReturnAddress)
	}
	if err != nil {
		c.s.log.Error("envelope letter", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	if !c.auditView(w, r, "personal_data.view", "envelope "+id, "cover letter and manual receipt PDF (recipient's name, personal number, postal address)") {
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="reservkort-`+id+`.pdf"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(pdf)
}

// regmailScan serves the archived scan of the returned receipt.
func (c *Console) regmailScan(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	b, typ, err := c.s.EnvelopeReceiptScan(r.Context(), id)
	if errors.Is(err, ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		c.s.log.Error("receipt scan", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	if !c.auditView(w, r, "personal_data.view", "envelope "+id, "archived scan of the signed receipt (recipient's name, personal number, signature)") {
		return
	}
	ext := map[string]string{"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}[typ]
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Disposition", `attachment; filename="kvittens-`+id+ext+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
