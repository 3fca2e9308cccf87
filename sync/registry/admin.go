package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kortstation/kortstation/sync/protocol"
)

var adminPage = template.Must(template.New("admin").Funcs(template.FuncMap{
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return time.Since(t).Round(time.Second).String() + " ago"
	},
	"ground": groundText,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kortstation registry</title>
<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}form{display:inline}h2{margin-top:1.5em}.code{font-family:monospace;font-size:1.3em;background:#ffd}</style></head>
<body><h1>Kortstation registry</h1>
{{if .Code}}<p>Enrolment code for {{.CodeStation}}: <span class="code">{{.Code}}</span> (CA fingerprint {{.Fingerprint}})</p>{{end}}
{{if .Error}}<p style="color:#a00">{{.Error}}</p>{{end}}
<h2>Stations</h2>
<table><tr><th>Station</th><th>Version</th><th>Last sync</th><th>Last seen</th><th>Control</th><th>Outbox</th><th>Data ages (s)</th><th>Drawer / alarms reported / RC-7 alarms received (24 h)</th><th>Stock</th><th>Hardware</th><th>Events</th><th>Locked</th><th>Policy (AT-1)</th><th>Commands</th></tr>
{{range .Stations}}<tr><td>{{.ID}}{{if not .Enrolled}} (not enrolled){{end}}</td><td>{{.Status.Version}}</td><td>{{ago .Status.LastSync}}{{if .Status.LastError}}<br>error: {{.Status.LastError}}{{end}}</td><td>{{ago .LastSeen}}</td><td>{{ago .ControlSeen}}</td>
<td>{{.Status.OutboxDepth}}</td><td>{{range $k, $v := .Status.DataAgeSeconds}}{{$k}}: {{$v}}<br>{{end}}</td><td>{{.Status.Drawer}} / {{.Status.Alarms}} / {{.AlarmsLastDay}}</td>
<td>{{range $k, $v := .Status.Stock}}{{$k}}: {{$v}}<br>{{end}}</td><td>{{range $k, $v := .Status.Hardware}}{{$k}}: {{$v}}<br>{{end}}</td><td>{{.Events}} (seq {{.LastSeq}})</td><td>{{.Locked}}</td>
<td>typed-in attestors: {{if .Policy.TypedAttestors}}<strong>allowed</strong> (marked unverified){{else}}not allowed{{end}}<br><form method="post" action="/admin/station-policy"><input type="hidden" name="station" value="{{.ID}}"><input type="hidden" name="typed_attestors" value="{{not .Policy.TypedAttestors}}"><button>{{if .Policy.TypedAttestors}}Forbid{{else}}Allow{{end}} typed-in attestors</button></form></td>
<td>{{$id := .ID}}{{range $.Commands}}<form method="post" action="/admin/command"><input type="hidden" name="station" value="{{$id}}"><button name="kind" value="{{.}}">{{.}}</button></form> {{end}}</td></tr>{{end}}
</table>
<form method="post" action="/admin/enrol-code">New station or re-enrolment: <input name="station" placeholder="station ID" required> <button>Create enrolment code</button></form>
<h2>Issuances (CP-1)</h2>
<table><tr><th>Issuance</th><th>Station</th><th>Kind</th><th>Card</th><th>Reason</th><th>Valid until</th><th>Recipient identified by</th><th>Decision</th></tr>
{{range .Issuances}}<tr><td>{{.ID}}</td><td>{{.Station}}</td><td>{{.Kind}}</td><td>{{.CardSerial}}</td><td>{{.Reason}}</td><td>{{.ValidUntil}}</td>
<td class="identified">{{if or .Attestors .AttestationGround}}attestors (ID-6 ground: {{ground .AttestationGround}}):<ul>{{range .Attestors}}<li class="attestor">{{.HSAID}}: {{if .Verified}}verified by SITHS card{{else}}<strong>typed in — NOT verified</strong>{{end}}</li>{{end}}</ul>{{else}}ID document{{end}}</td><td>{{if eq .Decision "pending"}}<form method="post" action="/admin/issuance"><input type="hidden" name="id" value="{{.ID}}"><button name="decision" value="approve">Approve</button> <button name="decision" value="reject">Reject</button></form>{{else}}{{.Decision}}{{end}}</td></tr>{{end}}
</table>
<h2>Blocked cards (BL-1)</h2>
<table><tr><th>Serial</th><th>Reason</th><th>Blocked</th></tr>{{range .Blocked}}<tr><td>{{.Serial}}</td><td>{{.Reason}}</td><td>{{.BlockedAt.Format "2006-01-02 15:04"}}</td></tr>{{end}}</table>
<form method="post" action="/admin/block"><input name="serial" placeholder="card serial" required> <input name="reason" placeholder="reason" required> <button>Block card</button></form>
<h2>Stop windows (CP-3)</h2>
<table><tr><th>Kind</th><th>Starts</th><th>Ends</th><th>Note</th><th></th></tr>{{range .Stops}}<tr><td>{{.Kind}}</td><td>{{.Starts.Format "2006-01-02 15:04"}}</td><td>{{.Ends.Format "2006-01-02 15:04"}}</td><td>{{.Note}}</td><td><form method="post" action="/admin/stop-window/delete"><input type="hidden" name="id" value="{{.ID}}"><button>Remove</button></form></td></tr>{{end}}</table>
<form method="post" action="/admin/stop-window"><select name="kind"><option>order_stop</option><option>total_stop</option></select> <input name="starts" type="datetime-local" required> <input name="ends" type="datetime-local" required> (UTC) <input name="note" placeholder="note"> <button>Add stop window</button></form>
<h2>Validity (RC-1)</h2>
<table><tr><th>Reason</th><th>Max days</th></tr>{{range .Validity}}<tr><td>{{.Reason}}</td><td>{{.MaxDays}}</td></tr>{{end}}</table>
<form method="post" action="/admin/validity"><input name="reason" placeholder="reason" required> <input name="max_days" type="number" min="1" max="366" required> <button>Set</button></form>
<h2>SITHS intermediate CAs</h2>
<table><tr><th>Subject</th><th>Not after</th><th>SHA-256</th><th></th></tr>{{range .Intermediates}}<tr><td>{{.Subject}}</td><td>{{.NotAfter.Format "2006-01-02"}}</td><td>{{.Fingerprint}}</td><td><form method="post" action="/admin/intermediate/delete"><input type="hidden" name="fingerprint" value="{{.Fingerprint}}"><button>Remove</button></form></td></tr>{{end}}</table>
<form method="post" action="/admin/intermediate" enctype="multipart/form-data"><input type="file" name="file" required> (DER or PEM) <button>Add intermediate</button></form>
<h2>SITHS revocation lists (CRLs)</h2>
<table><tr><th>Issuer</th><th>Number</th><th>This update</th><th>Next update</th><th>Revoked</th><th>SHA-256</th></tr>{{range .CRLs}}<tr><td>{{.Issuer}}</td><td>{{.Number}}</td><td>{{.ThisUpdate.Format "2006-01-02 15:04"}}</td><td>{{.NextUpdate.Format "2006-01-02 15:04"}}</td><td>{{.Entries}}</td><td>{{.Fingerprint}}</td></tr>{{end}}</table>
<form method="post" action="/admin/crl" enctype="multipart/form-data"><input type="file" name="file" required> (DER or PEM) <button>Add CRL</button></form>
<h2>Station trust</h2>
<table><tr><th>Station</th><th>Certificate</th><th>Audit head (checkpoint)</th><th>Audit alarms</th><th>Events held for review</th><th></th></tr>
{{range .Stations}}<tr><td>{{.ID}}</td><td>{{if .Revoked}}<strong style="color:#a00">revoked</strong>{{else if .Enrolled}}current{{else}}none{{end}}</td><td>{{.AuditSeq}} {{.AuditHash}}</td><td>{{if .AuditAlarms}}<strong style="color:#a00">{{.AuditAlarms}}: {{.AuditAlarm}}</strong>{{else}}none{{end}}</td><td>{{.HeldForReview}}</td>
<td>{{if .Enrolled}}<form method="post" action="/admin/revoke-station"><input type="hidden" name="station" value="{{.ID}}"><button>Revoke certificate</button></form> <form method="post" action="/admin/enrol-code"><input type="hidden" name="station" value="{{.ID}}"><input type="hidden" name="replace" value="1"><button>Re-enrol (revokes the current certificate)</button></form>{{end}}</td></tr>{{end}}
</table>
<h2>Audit chain alarms</h2>
<table><tr><th>Station</th><th>Event</th><th>Alarm</th><th>Checkpoint</th><th>Earlier head</th><th>Received</th></tr>
{{range .AuditAlarms}}<tr><td>{{.Station}}</td><td>{{.EventSeq}}</td><td><strong style="color:#a00">{{.Kind}}</strong></td><td>{{.Seq}} {{.Hash}}</td><td>{{.HeadSeq}} {{.HeadHash}}</td><td>{{.ReceivedAt.Format "2006-01-02 15:04"}}</td></tr>{{end}}
</table>
<h2>Held for central review (stored, not applied)</h2>
<table><tr><th>Station</th><th>Event</th><th>Kind</th><th>Card</th><th>Why</th><th>Received</th></tr>
{{range .Review}}<tr><td>{{.Station}}</td><td>{{.Seq}}</td><td>{{.Kind}}</td><td>{{.CardSerial}}</td><td>{{.Reason}}</td><td>{{.ReceivedAt.Format "2006-01-02 15:04"}}</td></tr>{{end}}
</table>
</body></html>`))

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
}

// AdminHandler serves the central admins' page (GET /admin) and the form
// endpoints, which `registryd admin` also uses. Bind it to loopback or an
// internal network: it has no authentication of its own. Cross-site form
// posts are refused.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/admin", http.StatusFound) })
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) { s.renderAdmin(w, r, adminView{}) })
	mux.HandleFunc("GET /admin/api/stations", func(w http.ResponseWriter, r *http.Request) {
		st, err := s.Stations(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(st)
	})
	mux.HandleFunc("GET /admin/api/ca", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"fingerprint": s.ca.Fingerprint(), "pem": string(s.ca.CertPEM)})
	})
	post := func(path string, fn func(r *http.Request) (string, error)) {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
				http.Error(w, "cross-site request refused", http.StatusForbidden)
				return
			}
			if o := r.Header.Get("Origin"); o != "" {
				if u, err := url.Parse(o); err != nil || u.Host != r.Host {
					http.Error(w, "cross-origin request refused", http.StatusForbidden)
					return
				}
			}
			out, err := fn(r)
			status := http.StatusOK
			switch {
			case errors.Is(err, ErrInvalid):
				status = http.StatusBadRequest
			case errors.Is(err, ErrNotFound):
				status = http.StatusNotFound
			case err != nil:
				status = http.StatusInternalServerError
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
			if err != nil {
				w.WriteHeader(status)
				s.renderAdmin(w, r, adminView{Error: err.Error()})
				return
			}
			if path == "/admin/enrol-code" {
				s.renderAdmin(w, r, adminView{Code: out, CodeStation: r.FormValue("station"), Fingerprint: s.ca.Fingerprint()})
				return
			}
			http.Redirect(w, r, "/admin", http.StatusSeeOther)
		})
	}
	post("/admin/command", func(r *http.Request) (string, error) {
		id, err := s.SendCommand(r.Context(), r.FormValue("station"), r.FormValue("kind"))
		return strconv.FormatInt(id, 10), err
	})
	post("/admin/issuance", func(r *http.Request) (string, error) {
		d := r.FormValue("decision")
		if d != "approve" && d != "reject" {
			return "", ErrInvalid
		}
		return map[string]string{"approve": "approved", "reject": "rejected"}[d], s.Decide(r.Context(), r.FormValue("id"), d == "approve")
	})
	post("/admin/station-policy", func(r *http.Request) (string, error) {
		typed, err := strconv.ParseBool(r.FormValue("typed_attestors"))
		if err != nil {
			return "", fmt.Errorf("%w: typed_attestors must be true or false", ErrInvalid)
		}
		return "set", s.SetStationPolicy(r.Context(), r.FormValue("station"), typed)
	})
	post("/admin/block", func(r *http.Request) (string, error) {
		return "blocked", s.BlockCard(r.Context(), r.FormValue("serial"), r.FormValue("reason"))
	})
	post("/admin/stop-window", func(r *http.Request) (string, error) {
		st, err1 := parseFormTime(r.FormValue("starts"))
		en, err2 := parseFormTime(r.FormValue("ends"))
		if err := errors.Join(err1, err2); err != nil {
			return "", errors.Join(ErrInvalid, err)
		}
		return s.AddStopWindow(r.Context(), r.FormValue("kind"), st, en, r.FormValue("note"))
	})
	post("/admin/stop-window/delete", func(r *http.Request) (string, error) {
		return "removed", s.DeleteStopWindow(r.Context(), r.FormValue("id"))
	})
	post("/admin/validity", func(r *http.Request) (string, error) {
		n, err := strconv.Atoi(r.FormValue("max_days"))
		if err != nil {
			return "", errors.Join(ErrInvalid, err)
		}
		return "set", s.SetValidity(r.Context(), r.FormValue("reason"), n)
	})
	post("/admin/intermediate", func(r *http.Request) (string, error) {
		b, err := uploaded(r)
		if err != nil {
			return "", err
		}
		return s.AddIntermediate(r.Context(), b)
	})
	post("/admin/intermediate/delete", func(r *http.Request) (string, error) {
		return "removed", s.RemoveIntermediate(r.Context(), r.FormValue("fingerprint"))
	})
	post("/admin/crl", func(r *http.Request) (string, error) {
		b, err := uploaded(r)
		if err != nil {
			return "", err
		}
		return s.AddCRL(r.Context(), b)
	})
	post("/admin/enrol-code", func(r *http.Request) (string, error) {
		return s.newEnrolCode(r.Context(), r.FormValue("station"), 7*24*time.Hour, r.FormValue("replace") != "")
	})
	post("/admin/revoke-station", func(r *http.Request) (string, error) {
		return "revoked", s.RevokeStation(r.Context(), r.FormValue("station"))
	})
	mux.HandleFunc("GET /admin/api/review", func(w http.ResponseWriter, r *http.Request) {
		items, err := s.ReviewItems(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(items)
	})
	return mux
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

func parseFormTime(v string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02T15:04", time.RFC3339, "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errors.New("time must be YYYY-MM-DDTHH:MM (UTC)")
}

func (s *Server) renderAdmin(w http.ResponseWriter, r *http.Request, v adminView) {
	ctx := r.Context()
	var err error
	if v.Stations, err = s.Stations(ctx); err == nil {
		if v.Issuances, err = s.Issuances(ctx); err == nil {
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
	v.Commands = []string{protocol.CmdSyncNow, protocol.CmdLock, protocol.CmdUnlock}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := adminPage.Execute(w, v); err != nil {
		s.log.Error("render admin page", "err", err)
	}
}
