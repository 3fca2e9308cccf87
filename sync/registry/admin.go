package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/protocol"
)

var adminPage = localized("admin", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body>{{if .Dev}}<p class="dev" role="alert"><strong>{{T "Development mode"}}</strong>: {{T "plain HTTP on loopback, no login. Every action is recorded as"}} {{.Actor}}. {{T "Never use this mode for a real registry."}}</p>{{end}}
<p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
<h1>{{T "Kortstation registry"}}</h1>
<p class="who">{{T "Signed in as"}} <strong>{{.Actor}}</strong> ({{range $i, $r := .Roles}}{{if $i}}, {{end}}{{T $r}}{{end}}).{{if .CanAudit}} <a href="/admin/audit">{{T "Audit trail"}}</a>{{end}} <a href="/admin/deadlines">{{T "Deviations and deadlines"}}</a> · <a href="/admin/reports">{{T "Reports"}}</a>{{if .CanCase}} · <a href="/admin/search">{{T "Search"}}</a> · <a href="/admin/regmail">{{T "Registered mail"}}</a>{{end}} · <a href="/admin/admins">{{T "Administrators (AD-2)"}}</a> · <a href="/admin/updates">{{T "Updates"}}</a></p>
{{if .Code}}<p>{{T "Enrolment code for"}} {{.CodeStation}}: <span class="code">{{.Code}}</span> ({{T "CA fingerprint"}} {{.Fingerprint}})</p>{{end}}
{{if .Error}}<p class="alarm">{{.Error}}</p>{{end}}
<h2>{{T "Stations"}}</h2>
<table><tr><th>{{T "Station"}}</th><th>{{T "Version"}}</th><th>{{T "Slot"}}</th><th>{{T "Last update result"}}</th><th>{{T "Last sync"}}</th><th>{{T "Last seen"}}</th><th>{{T "Issues cards until (offline)"}}</th><th>{{T "Control"}}</th><th>{{T "Outbox"}}</th><th>{{T "Data ages (s)"}}</th><th>{{T "Drawer / alarms reported / RC-7 alarms received (24 h)"}}</th><th>{{T "Stock"}}</th><th>{{T "Hardware"}}</th><th>{{T "Events"}}</th><th>{{T "Locked"}}</th><th>{{T "Policy (AT-1)"}}</th><th>{{T "Commands"}}</th></tr>
{{range .Stations}}<tr><td>{{.ID}}{{if not .Enrolled}} ({{T "not enrolled"}}){{end}}</td><td>{{or .Update.Version .Status.Version}}</td><td>{{.Update.Slot}}</td><td class="update-result">{{with .Update}}{{if .Result}}{{T .Result}} {{.ResultVersion}}, {{Stockholm .ResultAt}}{{end}}{{end}}</td><td>{{Ago .Status.LastSync}}{{if .Status.LastError}}<br>{{T "error"}}: {{.Status.LastError}}{{end}}</td><td>{{Ago .LastSeen}}</td><td class="issuing-until">{{with .Status.IssuingUntil}}{{if near .}}<strong class="alarm">{{Stockholm .}}</strong>{{else}}{{Stockholm .}}{{end}}{{else}}—{{end}}</td><td>{{Ago .ControlSeen}}</td>
<td>{{.Status.OutboxDepth}}</td><td>{{range $k, $v := .Status.DataAgeSeconds}}{{$k}}: {{$v}}<br>{{end}}</td><td>{{.Status.Drawer}} / {{.Status.Alarms}} / {{.AlarmsLastDay}}</td>
<td>{{range $k, $v := .Status.Stock}}{{$k}}: {{$v}}<br>{{end}}</td><td>{{range $k, $v := .Status.Hardware}}{{$k}}: {{$v}}<br>{{end}}</td><td>{{.Events}} (seq {{.LastSeq}})</td><td>{{if .Locked}}{{T "yes"}}{{else}}{{T "no"}}{{end}}</td>
<td>{{T "typed-in attestors"}}: {{if .Policy.TypedAttestors}}<strong>{{T "allowed"}}</strong> ({{T "marked unverified"}}){{else}}{{T "not allowed"}}{{end}}{{if $.CanManage}}<br><form method="post" action="/admin/station-policy"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="station" value="{{.ID}}"><input type="hidden" name="typed_attestors" value="{{not .Policy.TypedAttestors}}"><button>{{if .Policy.TypedAttestors}}{{T "Forbid typed-in attestors"}}{{else}}{{T "Allow typed-in attestors"}}{{end}}</button></form>{{end}}</td>
<td>{{$id := .ID}}{{if $.CanManage}}{{range $.Commands}}<form method="post" action="/admin/command"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="station" value="{{$id}}"><button name="kind" value="{{.}}">{{T .}}</button></form> {{end}}{{end}}</td></tr>{{end}}
</table>
{{if .CanManage}}<form method="post" action="/admin/enrol-code"><input type="hidden" name="csrf" value="{{$.CSRF}}">{{T "New station"}}: <input name="station" placeholder="{{T "station ID"}}" required> <button>{{T "Create enrolment code"}}</button></form>{{end}}
<h2>{{T "Issuances (CP-1)"}}</h2>
<table><tr><th>{{T "Issuance"}}</th><th>{{T "Station"}}</th><th>{{T "Kind"}}</th><th>{{T "Card"}}</th><th>{{T "Reason"}}</th><th>{{T "Valid until"}}</th><th>{{T "Recipient identified by"}}</th><th>{{T "Operator"}}</th><th>{{T "Central review"}}</th><th>{{T "Decision"}}</th></tr>
{{range .Issuances}}<tr><td>{{.ID}}</td><td>{{.Station}}</td><td>{{T .Kind}}</td><td>{{.CardSerial}}</td><td>{{.Reason}}</td><td>{{.ValidUntil}}</td>
<td class="identified">{{if or .Attestors .AttestationGround}}{{T "attestors"}} ({{T "ID-6 ground"}}: {{T (ground .AttestationGround)}}):<ul>{{range .Attestors}}<li class="attestor">{{.HSAID}}: {{if .Verified}}{{T "verified by SITHS card"}}{{else}}<strong>{{T "typed in — NOT verified"}}</strong>{{end}}</li>{{end}}</ul>{{else}}{{T "ID document"}}{{end}}</td><td>{{.Operator}}</td>
<td class="review">{{if .Findings}}<strong class="alarm">{{range $i, $f := .Findings}}{{if $i}}, {{end}}{{T $f}}{{end}}</strong>{{else if .Reviewed}}{{T "no findings"}}{{end}}{{if $.CanCase}} <a class="evidence" href="/admin/issuance/{{.ID}}">{{T "Evidence"}}</a>{{if .ReceiptID}} · <a class="receipt-pdf" href="/admin/receipt/{{.ReceiptID}}">{{T "Receipt (PDF)"}}</a>{{end}}{{end}}</td><td>{{if and (eq .Decision "pending") $.CanCase}}<form method="post" action="/admin/issuance"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button name="decision" value="approve">{{T "Approve"}}</button> <input name="reason" placeholder="{{T "reason (to reject)"}}"> <button name="decision" value="reject">{{T "Reject"}}</button></form>{{else}}{{T .Decision}}{{end}}</td></tr>{{end}}
</table>
<h2>{{T "Blocked cards (BL-1)"}}</h2>
<table><tr><th>{{T "Serial"}}</th><th>{{T "Reason"}}</th><th>{{T "Blocked"}}</th></tr>{{range .Blocked}}<tr><td>{{.Serial}}</td><td>{{.Reason}}</td><td>{{.BlockedAt.Format "2006-01-02 15:04"}}</td></tr>{{end}}</table>
{{if .CanCase}}<form method="post" action="/admin/block"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input name="serial" placeholder="{{T "card serial"}}" required> <input name="reason" placeholder="{{T "reason"}}" required> <button>{{T "Block card"}}</button></form>{{end}}
<h2>{{T "Stop windows (CP-3)"}}</h2>
<table><tr><th>{{T "Kind"}}</th><th>{{T "Starts"}} ({{T "Swedish time"}})</th><th>{{T "Ends"}} ({{T "Swedish time"}})</th><th>{{T "Note"}}</th><th></th></tr>{{range .Stops}}<tr><td>{{T .Kind}}</td><td>{{Stockholm .Starts}}</td><td>{{Stockholm .Ends}}</td><td>{{.Note}}</td><td>{{if $.CanManage}}<form method="post" action="/admin/stop-window/delete"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><button>{{T "Remove"}}</button></form>{{end}}</td></tr>{{end}}</table>
{{if .CanManage}}<form method="post" action="/admin/stop-window"><input type="hidden" name="csrf" value="{{$.CSRF}}"><select name="kind"><option value="order_stop">{{T "order_stop"}}</option><option value="total_stop">{{T "total_stop"}}</option></select> <input name="starts" type="datetime-local" required> <input name="ends" type="datetime-local" required> ({{T "Swedish time"}}) <input name="note" placeholder="{{T "note"}}"> <button>{{T "Add stop window"}}</button></form>{{end}}
<h2>{{T "Validity (RC-1)"}}</h2>
<table><tr><th>{{T "Reason"}}</th><th>{{T "Max days"}}</th></tr>{{range .Validity}}<tr><td>{{.Reason}}</td><td>{{.MaxDays}}</td></tr>{{end}}</table>
{{if .CanManage}}<form method="post" action="/admin/validity"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input name="reason" placeholder="{{T "reason"}}" required> <input name="max_days" type="number" min="1" max="366" required> <button>{{T "Set"}}</button></form>{{end}}
<h2>{{T "SITHS intermediate CAs"}}</h2>
<table><tr><th>{{T "Subject"}}</th><th>{{T "Not after"}}</th><th>SHA-256</th><th></th></tr>{{range .Intermediates}}<tr><td>{{.Subject}}</td><td>{{.NotAfter.Format "2006-01-02"}}</td><td>{{.Fingerprint}}</td><td>{{if $.CanAudit}}<form method="post" action="/admin/intermediate/delete"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="fingerprint" value="{{.Fingerprint}}"><button>{{T "Remove"}}</button></form>{{end}}</td></tr>{{end}}</table>
{{if .CanAudit}}<form method="post" action="/admin/intermediate" enctype="multipart/form-data"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="file" name="file" required> ({{T "DER or PEM"}}) <button>{{T "Add intermediate"}}</button></form>{{end}}
<h2>{{T "SITHS revocation lists (CRLs)"}}</h2>
<table><tr><th>{{T "Issuer"}}</th><th>{{T "Number"}}</th><th>{{T "This update"}}</th><th>{{T "Next update"}}</th><th>{{T "Revoked"}}</th><th>SHA-256</th></tr>{{range .CRLs}}<tr><td>{{.Issuer}}</td><td>{{.Number}}</td><td>{{.ThisUpdate.Format "2006-01-02 15:04"}}</td><td>{{.NextUpdate.Format "2006-01-02 15:04"}}</td><td>{{.Entries}}</td><td>{{.Fingerprint}}</td></tr>{{end}}</table>
{{if .CanAudit}}<form method="post" action="/admin/crl" enctype="multipart/form-data"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="file" name="file" required> ({{T "DER or PEM"}}) <button>{{T "Add CRL"}}</button></form>{{end}}
<h2>{{T "Station trust"}}</h2>
<table><tr><th>{{T "Station"}}</th><th>{{T "Certificate"}}</th><th>{{T "Audit head (checkpoint)"}}</th><th>{{T "Audit alarms"}}</th><th>{{T "Events held for review"}}</th><th></th></tr>
{{range .Stations}}<tr><td>{{.ID}}</td><td>{{if .Revoked}}<strong class="alarm">{{T "revoked"}}</strong>{{else if .Enrolled}}{{T "current"}}{{else}}{{T "none"}}{{end}}</td><td>{{.AuditSeq}} {{.AuditHash}}</td><td>{{if .AuditAlarms}}<strong class="alarm">{{.AuditAlarms}}: {{.AuditAlarm}}</strong>{{else}}{{T "none"}}{{end}}</td><td>{{.HeldForReview}}</td>
<td>{{if and .Enrolled $.CanManage}}<form method="post" action="/admin/revoke-station"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="station" value="{{.ID}}"><input name="reason" placeholder="{{T "reason"}}" required> <button>{{T "Revoke certificate"}}</button></form> <form method="post" action="/admin/enrol-code"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="station" value="{{.ID}}"><input type="hidden" name="replace" value="1"><button>{{T "Re-enrol (revokes the current certificate)"}}</button></form>{{end}}</td></tr>{{end}}
</table>
<h2>{{T "Audit chain alarms"}}</h2>
<table><tr><th>{{T "Station"}}</th><th>{{T "Event"}}</th><th>{{T "Alarm"}}</th><th>{{T "Checkpoint"}}</th><th>{{T "Earlier head"}}</th><th>{{T "Received"}}</th></tr>
{{range .AuditAlarms}}<tr><td>{{.Station}}</td><td>{{.EventSeq}}</td><td><strong class="alarm">{{T .Kind}}</strong></td><td>{{.Seq}} {{.Hash}}</td><td>{{.HeadSeq}} {{.HeadHash}}</td><td>{{.ReceivedAt.Format "2006-01-02 15:04"}}</td></tr>{{end}}
</table>
<h2>{{T "Held for central review (stored, not applied)"}}</h2>
<table><tr><th>{{T "Station"}}</th><th>{{T "Event"}}</th><th>{{T "Kind"}}</th><th>{{T "Card"}}</th><th>{{T "Why"}}</th><th>{{T "Received"}}</th><th>{{T "Decision"}}</th></tr>
{{range .Review}}<tr class="review-item"><td>{{.Station}}</td><td>{{.Seq}}</td><td>{{T .Kind}}</td><td>{{.CardSerial}}</td><td>{{T .Reason}}</td><td>{{.ReceivedAt.Format "2006-01-02 15:04"}}</td>
<td>{{if .Decision}}{{T .Decision}} {{T "by"}} {{.DecidedBy}}: {{.DecisionReason}}{{else if $.CanCase}}<form method="post" action="/admin/review"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="id" value="{{.ID}}"><input name="reason" placeholder="{{T "reason"}}" required> <button name="decision" value="apply">{{T "Apply"}}</button> <button name="decision" value="reject">{{T "Reject"}}</button></form>{{else}}{{T "waiting for a case officer"}}{{end}}</td></tr>{{end}}
</table>
</body></html>`)

type adminView struct {
	Stations                       []StationInfo
	Issuances                      []Issuance
	Blocked                        []protocol.BlockedCard
	Stops                          []protocol.StopWindow
	Validity                       []protocol.Validity
	Intermediates                  []IntermediateInfo
	CRLs                           []CRLInfo
	Commands                       []string
	Code, CodeStation, Fingerprint string
	Error                          string
	Review                         []ReviewItem
	AuditAlarms                    []AuditAlarm
	Actor, CSRF                    string
	Roles                          []string
	Dev, CanAudit                  bool
	CanCase, CanManage             bool
}

// consoleCSS is the console's stylesheet (the CSP allows no inline style).
const consoleCSS = `body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}form{display:inline}h2{margin-top:1.5em}.code{font-family:monospace;font-size:1.3em;background:#ffd}.alarm{color:#a00}.dev{background:#fde68a;border:2px solid #b45309;padding:.5em}.who{color:#333}
`

// action is one POST of the console: the role it needs, what it is
// about (a form field, for the audit trail), whether it needs a reason.
type action struct {
	path, kind string
	role       Role
	subject    string                     // form field naming what it is about; "upload": the uploaded file's fingerprint
	reason     func(r *http.Request) bool // a reason (form field "reason") is required
	do         func(r *http.Request) (string, error)
	trust      bool // it changes the trust material: the console reloads it
}

// routes are the console's pages and actions, behind Handler's checks.
// The form endpoints are also `registryd admin`'s API (Accept:
// text/plain).
func (c *Console) routes() http.Handler {
	s := c.s
	mux := http.NewServeMux()
	get := func(path string, role Role, fn http.HandlerFunc) {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			p := principalFrom(r.Context())
			if !p.can(role) {
				c.refuse(w, r, p.actor, "console.view_refused", path, "role "+string(role)+" required", nil)
				return
			}
			fn(w, r)
		})
	}
	get("/{$}", RoleViewer, func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/admin", http.StatusFound) })
	get("/admin", RoleViewer, func(w http.ResponseWriter, r *http.Request) { c.render(w, r, http.StatusOK, adminView{}) })
	get("/admin/console.css", RoleViewer, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write([]byte(consoleCSS))
	})
	get("/admin/api/session", RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		p := principalFrom(r.Context())
		writeJSON(w, map[string]any{"actor": p.actor, "roles": p.roleNames(), "dev": p.dev, "csrf": p.sess.csrf})
	})
	get("/admin/api/stations", RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		st, err := s.Stations(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, st)
	})
	get("/admin/api/ca", RoleViewer, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]string{"fingerprint": s.ca.Fingerprint(), "pem": string(s.ca.CertPEM)})
	})
	get("/admin/api/review", RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		if !c.auditView(w, r, "console.view", "review", "events held for review (card serials)") {
			return
		}
		items, err := s.ReviewItems(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		writeJSON(w, items)
	})
	get("/admin/audit", RoleSecurityOfficer, c.auditPage)
	get("/admin/audit/export", RoleSecurityOfficer, c.auditExport)
	get("/admin/api/audit", RoleSecurityOfficer, func(w http.ResponseWriter, r *http.Request) {
		if !c.auditView(w, r, "audit.view", "admin audit trail", "") {
			return
		}
		entries, err := s.AdminAudit(r.Context(), auditPageSize)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		res, verr := s.VerifyAdminAudit(r.Context())
		out := map[string]any{"entries": entries, "verified": verr == nil, "head": res.Head, "count": res.Entries}
		if verr != nil {
			out["break"] = verr.Error()
		}
		writeJSON(w, out)
	})

	reject := func(r *http.Request) bool { return r.PostFormValue("decision") == "reject" }
	always := func(*http.Request) bool { return true }
	for _, a := range []action{
		{path: "/admin/command", kind: "station.command", role: RoleStationManager, subject: "station", do: func(r *http.Request) (string, error) {
			id, err := s.SendCommand(r.Context(), r.FormValue("station"), r.FormValue("kind"))
			return strconv.FormatInt(id, 10), err
		}},
		{path: "/admin/issuance", kind: "issuance.decide", role: RoleCaseOfficer, subject: "id", reason: reject, do: func(r *http.Request) (string, error) {
			d := r.FormValue("decision")
			if d != "approve" && d != "reject" {
				return "", fmt.Errorf("%w: decision must be approve or reject", ErrInvalid)
			}
			return map[string]string{"approve": "approved", "reject": "rejected"}[d], s.DecideIssuance(r.Context(), r.FormValue("id"), d == "approve", principalFrom(r.Context()).actor, r.FormValue("reason"))
		}},
		{path: "/admin/station-policy", kind: "station.policy", role: RoleStationManager, subject: "station", do: func(r *http.Request) (string, error) {
			typed, err := strconv.ParseBool(r.FormValue("typed_attestors"))
			if err != nil {
				return "", fmt.Errorf("%w: typed_attestors must be true or false", ErrInvalid)
			}
			return "set", s.SetStationPolicy(r.Context(), r.FormValue("station"), typed)
		}},
		{path: "/admin/block", kind: "card.block", role: RoleCaseOfficer, subject: "serial", reason: always, do: func(r *http.Request) (string, error) {
			return "blocked", s.BlockCard(r.Context(), r.FormValue("serial"), r.FormValue("reason"))
		}},
		{path: "/admin/stop-window", kind: "stop_window.add", role: RoleStationManager, subject: "kind", do: func(r *http.Request) (string, error) {
			st, err1 := parseStockholm(r.FormValue("starts"), false) // Swedish time, DST handled (stopwindows.go)
			en, err2 := parseStockholm(r.FormValue("ends"), true)
			if err := errors.Join(err1, err2); err != nil {
				return "", errors.Join(ErrInvalid, err)
			}
			if !en.After(s.now()) { // published ahead of time; one already over is a typing mistake
				return "", fmt.Errorf("%w: the stop window has already ended", ErrInvalid)
			}
			return s.AddStopWindow(r.Context(), r.FormValue("kind"), st, en, r.FormValue("note"))
		}},
		{path: "/admin/stop-window/delete", kind: "stop_window.remove", role: RoleStationManager, subject: "id", do: func(r *http.Request) (string, error) {
			return "removed", s.DeleteStopWindow(r.Context(), r.FormValue("id"))
		}},
		{path: "/admin/validity", kind: "validity.set", role: RoleStationManager, subject: "reason", do: func(r *http.Request) (string, error) {
			n, err := strconv.Atoi(r.FormValue("max_days"))
			if err != nil {
				return "", errors.Join(ErrInvalid, err)
			}
			return "set", s.SetValidity(r.Context(), r.FormValue("reason"), n)
		}},
		{path: "/admin/intermediate", kind: "trust.intermediate_add", role: RoleSecurityOfficer, subject: "upload", trust: true, do: func(r *http.Request) (string, error) {
			b, err := uploaded(r)
			if err != nil {
				return "", err
			}
			return s.AddIntermediate(r.Context(), b)
		}},
		{path: "/admin/intermediate/delete", kind: "trust.intermediate_remove", role: RoleSecurityOfficer, subject: "fingerprint", trust: true, do: func(r *http.Request) (string, error) {
			return "removed", s.RemoveIntermediate(r.Context(), r.FormValue("fingerprint"))
		}},
		{path: "/admin/crl", kind: "trust.crl_add", role: RoleSecurityOfficer, subject: "upload", trust: true, do: func(r *http.Request) (string, error) {
			b, err := uploaded(r)
			if err != nil {
				return "", err
			}
			return s.AddCRL(r.Context(), b)
		}},
		{path: "/admin/enrol-code", kind: "station.enrol_code", role: RoleStationManager, subject: "station", do: func(r *http.Request) (string, error) {
			return s.newEnrolCode(r.Context(), r.FormValue("station"), 7*24*time.Hour, r.FormValue("replace") != "")
		}},
		{path: "/admin/revoke-station", kind: "station.revoke", role: RoleStationManager, subject: "station", reason: always, do: func(r *http.Request) (string, error) {
			return "revoked", s.RevokeStation(r.Context(), r.FormValue("station"))
		}},
		c.reviewAction(),
	} {
		mux.HandleFunc("POST "+a.path, func(w http.ResponseWriter, r *http.Request) { c.act(w, r, a) })
	}
	c.deadlineRoutes(mux, get) // issue 14: deviations and deadlines (deadlines_page.go)
	c.searchRoutes(mux, get)   // issue 14: search (search.go)
	c.reportRoutes(get)        // issue 14: reports (reports.go)
	c.evidenceRoutes(get)      // issue 14: approval with evidence (console_evidence.go)
	c.adminRoutes(mux, get)    // issue 14: changes of administrators, AD-2 (console_admins.go)
	c.regmailRoutes(mux, get)  // issue 14: reserve cards by registered mail (regmail_page.go)
	c.updatesRoutes(mux, get)  // issue 16: staged rollout (rollout_page.go)
	return mux
}

// act does one action for the request's principal: role checked, reason
// required where the action needs one, audited in the change's own
// transaction (or on its own when refused, failed or changing nothing).
func (c *Console) act(w http.ResponseWriter, r *http.Request, a action) {
	ctx := r.Context()
	p := principalFrom(ctx)
	_ = r.PostFormValue("csrf") // parses the form (Handler already did)
	detail := map[string]any{}
	for k, v := range r.PostForm {
		if k != "csrf" && k != "data" && len(v) > 0 {
			detail[k] = v[0]
		}
	}
	subject := r.PostFormValue(a.subject)
	if a.subject == "upload" {
		subject = uploadFingerprint(r)
	}
	if !p.can(a.role) {
		c.refuse(w, r, p.actor, a.kind, subject, "role "+string(a.role)+" required", detail)
		return
	}
	detail["from"] = r.RemoteAddr
	var out string
	var err error
	pending := &pendingAudit{clk: c.s.clk}
	if a.reason != nil && a.reason(r) && strings.TrimSpace(r.PostFormValue("reason")) == "" {
		err = fmt.Errorf("%w: a reason is required", ErrInvalid)
	} else {
		ok := maps.Clone(detail)
		ok["outcome"] = "ok"
		pending.entry = audit.Entry{Kind: a.kind, Actor: p.actor, Subject: subject, Detail: ok}
		out, err = a.do(r.WithContext(withPendingAudit(ctx, pending)))
	}
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case err != nil:
		status = http.StatusInternalServerError
	}
	if err != nil {
		detail["error"] = err.Error()
	}
	if !pending.written || err != nil {
		detail["outcome"] = map[int]string{http.StatusOK: "ok (no change)", http.StatusBadRequest: "invalid", http.StatusNotFound: "not found", http.StatusInternalServerError: "failed"}[status]
		if aerr := c.s.AppendAdminAudit(ctx, audit.Entry{Kind: a.kind, Actor: p.actor, Subject: subject, Detail: detail}); aerr != nil {
			c.s.log.Error("console audit", "err", aerr)
			if err == nil {
				err, status = errors.New("registry: the action could not be recorded"), http.StatusInternalServerError
			}
		}
	}
	if a.trust && err == nil {
		if rerr := c.reload(ctx); rerr != nil {
			c.s.log.Error("console trust material", "err", rerr)
		}
	}
	if r.Header.Get("Accept") == "text/plain" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		if err != nil {
			_, _ = w.Write([]byte(err.Error() + "\n"))
		} else {
			_, _ = w.Write([]byte(out + "\n"))
		}
		return
	}
	switch {
	case err != nil:
		c.render(w, r, status, adminView{Error: errorText(p.lang, err)})
	case a.path == "/admin/enrol-code":
		c.render(w, r, http.StatusOK, adminView{Code: out, CodeStation: r.FormValue("station"), Fingerprint: c.s.ca.Fingerprint()})
	default:
		http.Redirect(w, r, "/admin", http.StatusSeeOther)
	}
}

// uploadFingerprint is the SHA-256 of the uploaded certificate or CRL (of
// its DER, as the registry lists it, when it is PEM).
func uploadFingerprint(r *http.Request) string {
	b, err := uploaded(r)
	if err != nil {
		return ""
	}
	for _, typ := range []string{"CERTIFICATE", "X509 CRL"} {
		if der, err := derOf(b, typ); err == nil {
			return fingerprint(der)
		}
	}
	return fingerprint(b)
}

// auditView records that the principal viewed personal data; false (and
// the response written) when it could not be recorded.
func (c *Console) auditView(w http.ResponseWriter, r *http.Request, kind, subject, shows string) bool {
	p := principalFrom(r.Context())
	d := map[string]any{"from": r.RemoteAddr}
	if shows != "" {
		d["shows"] = shows
	}
	if err := c.s.AppendAdminAudit(r.Context(), audit.Entry{Kind: kind, Actor: p.actor, Subject: subject, Detail: d}); err != nil {
		c.s.log.Error("console audit", "err", err)
		http.Error(w, "could not record the view", http.StatusInternalServerError)
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// maxUpload bounds an uploaded certificate or CRL (a CRL of 100,000
// serials is about 4 MB).
const maxUpload = 32 << 20

// uploaded is the file of a trust-material form: the multipart field
// "file" (the admin page) or the base64 field "data" (registryd admin).
func uploaded(r *http.Request) ([]byte, error) {
	if err := r.ParseMultipartForm(maxUpload); err == nil {
		if f, _, err := r.FormFile("file"); err == nil {
			defer f.Close()
			b, err := io.ReadAll(io.LimitReader(f, maxUpload+1))
			if err != nil {
				return nil, errors.Join(ErrInvalid, err)
			}
			if len(b) > maxUpload {
				return nil, fmt.Errorf("%w: file larger than %d bytes", ErrInvalid, maxUpload)
			}
			return b, nil
		}
	}
	b, err := base64.StdEncoding.DecodeString(r.FormValue("data"))
	if err != nil || len(b) == 0 {
		return nil, fmt.Errorf("%w: no file (multipart field \"file\" or base64 field \"data\")", ErrInvalid)
	}
	return b, nil
}

// groundText is an ID-6 attestation ground as the approval view shows it.
func groundText(g string) string {
	switch g {
	case "no_valid_document":
		return "no valid ID document"
	case "no_personal_number":
		return "no personal number"
	case "":
		return "not stated"
	}
	return g
}

// render shows the console page; it shows personal data (issuances with
// their attestors' HSA-IDs and card serials, blocked cards, events held
// for review), so every view is audited.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, v adminView) {
	s := c.s
	ctx := r.Context()
	if !c.auditView(w, r, "console.view", "admin", "issuances (attestor HSA-IDs, card serials), blocked cards, events held for review") {
		return
	}
	var err error
	if v.Stations, err = s.Stations(ctx); err == nil {
		if v.Issuances, err = s.Issuances(ctx); err == nil {
			err = s.queueEvidence(ctx, v.Issuances) // operator, receipt, central review (console_evidence.go)
		}
		if err == nil {
			var resp protocol.PullResponse
			resp, err = s.Pull(ctx, "", map[string]string{protocol.RefBlockedCards: "", protocol.RefStopWindows: "", protocol.RefValidity: ""}, 0)
			if err == nil {
				err = errors.Join(
					json.Unmarshal(resp.Pages[protocol.RefBlockedCards].Items, &v.Blocked),
					json.Unmarshal(resp.Pages[protocol.RefStopWindows].Items, &v.Stops),
					json.Unmarshal(resp.Pages[protocol.RefValidity].Items, &v.Validity))
			}
		}
	}
	if err == nil {
		v.Intermediates, v.CRLs, err = s.TrustMaterial(ctx)
	}
	if err == nil {
		v.Review, err = s.ReviewItems(ctx)
	}
	if err == nil {
		v.AuditAlarms, err = s.AuditAlarms(ctx)
	}
	if err != nil {
		s.log.Error("admin page", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	p := principalFrom(ctx)
	v.Actor, v.Roles, v.Dev, v.CanAudit, v.CSRF = p.actor, p.roleNames(), p.dev, p.can(RoleSecurityOfficer), p.sess.csrf
	v.CanCase, v.CanManage = p.can(RoleCaseOfficer), p.can(RoleStationManager)
	v.Commands = []string{protocol.CmdSyncNow, protocol.CmdLock, protocol.CmdUnlock}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := adminPage[p.lang].Execute(w, v); err != nil {
		s.log.Error("render admin page", "err", err)
	}
}

// auditPageSize is how many entries the audit page shows.
const auditPageSize = 500

var auditPage = localized("audit", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}: {{T "audit trail"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body><p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
<h1>{{T "Console audit trail"}}</h1><p><a href="/admin">{{T "Back to the console"}}</a> · {{T "Download the whole trail"}}: <a href="/admin/audit/export?format=csv" download>CSV</a>, <a href="/admin/audit/export?format=json" download>JSON</a></p>
{{if .Break}}<p class="alarm" role="alert"><strong>{{T "The audit trail is broken"}}:</strong> {{.Break}}</p>{{else}}<p class="verified">{{T "Verified"}}: {{.Count}} {{T "entries"}}, {{T "head"}} {{.Head}}.</p>{{end}}
<table><tr><th>#</th><th>{{T "When (UTC)"}}</th><th>{{T "Who"}}</th><th>{{T "What"}}</th><th>{{T "About"}}</th><th>{{T "Details"}}</th></tr>
{{range .Entries}}<tr><td>{{.Seq}}</td><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.Actor}}</td><td>{{.Kind}}</td><td>{{.Subject}}</td><td>{{.Detail}}</td></tr>{{end}}
</table>
<h2 id="lookups">{{T "Person look-ups by stations"}}</h2>
<p>{{T "Each look-up of a person the station holds nothing about; the personal number is kept only as a keyed hash (the same as a search for it gives in the trail above)."}}</p>
{{if .Lookups}}<table class="lookups"><tr><th>{{T "When (UTC)"}}</th><th>{{T "Station"}}</th><th>{{T "Operator"}}</th><th>{{T "Person (hash)"}}</th><th>{{T "Outcome"}}</th></tr>
{{range .Lookups}}<tr class="lookup"><td>{{when .At}}</td><td>{{.Station}}</td><td>{{.Operator}}</td><td><code>{{.TermHMAC}}</code></td><td>{{T .Outcome}}</td></tr>{{end}}
</table>{{else}}<p>{{T "No look-ups yet."}}</p>{{end}}
</body></html>`)

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if !c.auditView(w, r, "audit.view", "admin audit trail", "") {
		return
	}
	entries, err := c.s.AdminAudit(ctx, auditPageSize)
	if err != nil {
		c.s.log.Error("audit page", "err", err)
		http.Error(w, "could not read the audit trail", http.StatusInternalServerError)
		return
	}
	lookups, err := c.s.PersonLookups(ctx, auditPageSize)
	if err != nil {
		c.s.log.Error("audit page", "err", err)
		http.Error(w, "could not read the person look-ups", http.StatusInternalServerError)
		return
	}
	res, verr := c.s.VerifyAdminAudit(ctx)
	v := struct {
		Entries     []audit.Record
		Lookups     []PersonLookup
		Count       int64
		Head, Break string
	}{Entries: entries, Lookups: lookups, Count: res.Entries, Head: res.Head}
	if verr != nil {
		v.Break = verr.Error()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := auditPage[principalFrom(ctx).lang].Execute(w, v); err != nil {
		c.s.log.Error("render audit page", "err", err)
	}
}
