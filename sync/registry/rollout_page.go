package registry

// The console's page "Uppdateringar" (issue 16 item 3): the releases with
// their results per group, the update groups with their target versions,
// and per station its group, the version and slot it runs and its last
// update result. Viewing is every role's; setting a group's target and
// moving a station between groups are a station manager's, checked on
// the server, behind the console's CSRF checks, audited in the change's
// own transaction (refusals and failures on their own).

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"

	"github.com/kortstation/kortstation/kiosk/audit"
)

// updatesPath is the page's path.
const updatesPath = "/admin/updates"

var updatesPage = localized("updates", `<!doctype html>
<html lang="{{Lang}}"><head><meta charset="utf-8"><title>{{T "Kortstation registry"}}: {{T "Updates"}}</title>
<link rel="stylesheet" href="/admin/console.css"></head>
<body><p class="lang">{{if eq Lang "sv"}}<a href="?lang=en" lang="en">English</a>{{else}}<a href="?lang=sv" lang="sv">Svenska</a>{{end}}</p>
<h1>{{T "Updates"}}</h1>
<p><a href="/admin">{{T "Back to the console"}}</a></p>
{{if .Error}}<p class="alarm" role="alert">{{.Error}}</p>{{end}}
<p>{{T "A station is offered its group's target version when it runs an older one, never an older version. A release becomes the target of a group other than the pilot group only after a pilot station installed and kept it, and while no pilot station rolled it back or refused it. The station checks the bundle's signature itself."}}</p>
<h2>{{T "Update groups"}}</h2>
<table class="update-groups"><tr><th>{{T "Group"}}</th><th>{{T "Stations"}}</th><th>{{T "Target version"}}</th><th>{{T "Changed"}}</th>{{if .CanManage}}<th>{{T "New target"}}</th>{{end}}</tr>
{{range .Groups}}<tr class="update-group"><td>{{T .Name}}{{if .Pilot}} ({{T "pilot group"}}){{end}}</td><td>{{.Stations}}</td><td class="target">{{if .Target}}{{.Target}}{{else}}{{T "no target"}}{{end}}</td><td>{{if .UpdatedBy}}{{Stockholm .UpdatedAt}} {{T "by"}} {{.UpdatedBy}}{{end}}</td>
{{if $.CanManage}}<td><form method="post" action="/admin/updates/target"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="group" value="{{.Name}}"><select name="version" aria-label="{{T "Target version"}}"><option value="">{{T "no target"}}</option>{{$t := .Target}}{{range $.Releases}}<option value="{{.Version}}"{{if eq .Version $t}} selected{{end}}>{{.Version}}</option>{{end}}</select> <button>{{T "Set target"}}</button></form></td>{{end}}</tr>{{end}}
</table>
<h2>{{T "Releases"}}</h2>
{{if .Releases}}<table class="releases"><tr><th>{{T "Version"}}</th><th>{{T "Size"}}</th><th>SHA-256</th><th>{{T "Added"}}</th><th>{{T "Pilot"}}</th><th>{{T "Results per group"}}</th></tr>
{{range .Releases}}<tr class="release"><td>{{.Version}}</td><td>{{.MiB}} MiB</td><td><code>{{.SHA256}}</code></td><td>{{Stockholm .AddedAt}} {{T "by"}} {{.AddedBy}}</td>
<td>{{with index $.Pilot .Version}}{{if .Bad}}<strong class="alarm">{{T "rolled back or refused by a pilot station"}}</strong>{{else if .OK}}{{T "committed by a pilot station"}}{{else}}{{T "not yet committed by a pilot station"}}{{end}}{{end}}</td>
<td>{{range $g, $r := .Tally}}{{T $g}}: {{range $k, $n := $r}}{{T $k}} {{$n}} {{end}}<br>{{else}}—{{end}}</td></tr>{{end}}
</table>{{else}}<p>{{T "No releases yet: central IT adds them on the registry host with registryd release add."}}</p>{{end}}
<h2>{{T "Stations"}}</h2>
<table class="station-updates"><tr><th>{{T "Station"}}</th><th>{{T "Group"}}</th><th>{{T "Version"}}</th><th>{{T "Slot"}}</th><th>{{T "Update state"}}</th><th>{{T "Last update result"}}</th></tr>
{{range .Stations}}<tr class="station-update"><td>{{.ID}}</td><td>{{T .Update.Group}}{{if $.CanManage}} <form method="post" action="/admin/updates/group"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="station" value="{{.ID}}"><select name="group" aria-label="{{T "Group"}}">{{$g := .Update.Group}}{{range $.Groups}}<option value="{{.Name}}"{{if eq .Name $g}} selected{{end}}>{{T .Name}}</option>{{end}}</select> <button>{{T "Move"}}</button></form>{{end}}</td>
<td>{{or .Update.Version .Status.Version "—"}}</td><td>{{or .Update.Slot "—"}}</td><td>{{if .Update.State}}{{T .Update.State}} {{.Update.StateVersion}}{{else}}—{{end}}</td>
<td class="update-result">{{if .Update.Result}}{{if eq .Update.Result "committed"}}{{T .Update.Result}}{{else}}<strong class="alarm">{{T .Update.Result}}</strong>{{end}} {{.Update.ResultVersion}}{{if .Update.ResultFrom}} ({{T "from"}} {{.Update.ResultFrom}}){{end}}, {{Stockholm .Update.ResultAt}}{{if .Update.ResultReason}}: {{.Update.ResultReason}}{{end}}{{else}}—{{end}}</td></tr>{{end}}
</table>
</body></html>`)

// pilotState is a release's pilot evidence for the page.
type pilotState struct{ OK, Bad bool }

// updatesRoutes adds the page and its actions to the console's mux; get
// is the console's role-checked GET registration (admin.go).
func (c *Console) updatesRoutes(mux *http.ServeMux, get func(string, Role, http.HandlerFunc)) {
	get(updatesPath, RoleViewer, func(w http.ResponseWriter, r *http.Request) { c.updatesPage(w, r, http.StatusOK, "") })
	mux.HandleFunc("POST /admin/updates/target", c.updatesAct("update.target", "group", func(r *http.Request) error {
		return c.s.SetGroupTarget(r.Context(), r.PostFormValue("group"), strings.TrimSpace(r.PostFormValue("version")), principalFrom(r.Context()).actor)
	}))
	mux.HandleFunc("POST /admin/updates/group", c.updatesAct("update.group", "station", func(r *http.Request) error {
		return c.s.SetStationGroup(r.Context(), r.PostFormValue("station"), r.PostFormValue("group"))
	}))
}

// updatesAct is one change on the page: station managers only (others
// refused and audited), audited in the change's own transaction (or on
// its own when refused or failed), then back to the page, or the page
// with why nothing changed.
func (c *Console) updatesAct(kind, subjectField string, do func(r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		p := principalFrom(ctx)
		detail := map[string]any{}
		for k, v := range r.PostForm {
			if k != "csrf" && len(v) > 0 {
				detail[k] = v[0]
			}
		}
		subject := r.PostFormValue(subjectField)
		if !p.can(RoleStationManager) {
			c.refuse(w, r, p.actor, kind, subject, "role "+string(RoleStationManager)+" required", detail)
			return
		}
		detail["from"] = r.RemoteAddr
		ok := maps.Clone(detail)
		ok["outcome"] = "ok"
		pending := &pendingAudit{clk: c.s.clk, entry: audit.Entry{Kind: kind, Actor: p.actor, Subject: subject, Detail: ok}}
		err := do(r.WithContext(withPendingAudit(ctx, pending)))
		status := http.StatusOK
		switch {
		case errors.Is(err, ErrPilotFirst):
			status = http.StatusConflict
		case errors.Is(err, ErrInvalid):
			status = http.StatusBadRequest
		case errors.Is(err, ErrNotFound):
			status = http.StatusNotFound
		case err != nil:
			status = http.StatusInternalServerError
		}
		if !pending.written || err != nil {
			detail["outcome"] = map[int]string{http.StatusOK: "ok (no change)", http.StatusConflict: "refused", http.StatusBadRequest: "invalid",
				http.StatusNotFound: "not found", http.StatusInternalServerError: "failed"}[status]
			if err != nil {
				detail["error"] = err.Error() // the rule and raw states go here, never on screen
			}
			if aerr := c.s.AppendAdminAudit(ctx, audit.Entry{Kind: kind, Actor: p.actor, Subject: subject, Detail: detail}); aerr != nil {
				c.s.log.Error("console audit", "err", aerr)
				if err == nil {
					err, status = errors.New("registry: the action could not be recorded"), http.StatusInternalServerError
				}
			}
		}
		if r.Header.Get("Accept") == "text/plain" {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			if err != nil {
				fmt.Fprintln(w, updatesErrorText(p.lang, err))
			} else {
				fmt.Fprintln(w, "ok")
			}
			return
		}
		if err != nil {
			c.updatesPage(w, r, status, updatesErrorText(p.lang, err))
			return
		}
		http.Redirect(w, r, updatesPath, http.StatusSeeOther)
	}
}

// updatesErrorText is a refused or failed change as the page shows it.
func updatesErrorText(lang string, err error) string {
	if errors.Is(err, ErrPilotFirst) {
		return tr(lang, textPilotFirst)
	}
	return errorText(lang, err)
}

const textPilotFirst = "Nothing was changed: a version can become the target of this group only after at least one pilot station installed and kept it, and not if a pilot station rolled it back or refused it. Set it as the pilot group's target first."

func (c *Console) updatesPage(w http.ResponseWriter, r *http.Request, status int, errText string) {
	ctx := r.Context()
	p := principalFrom(ctx)
	if !c.auditView(w, r, "console.view", "updates", "") {
		return
	}
	v := struct {
		Error, CSRF string
		CanManage   bool
		Groups      []UpdateGroup
		Releases    []Release
		Pilot       map[string]pilotState
		Stations    []StationInfo
	}{Error: errText, CSRF: p.sess.csrf, CanManage: p.can(RoleStationManager), Pilot: map[string]pilotState{}}
	var err error
	if v.Groups, err = c.s.UpdateGroups(ctx); err == nil {
		if v.Releases, err = c.s.Releases(ctx); err == nil {
			v.Stations, err = c.s.Stations(ctx)
		}
	}
	for _, rel := range v.Releases {
		if err != nil {
			break
		}
		var ps pilotState
		ps.OK, ps.Bad, err = c.s.PilotEvidence(ctx, rel.Version)
		v.Pilot[rel.Version] = ps
	}
	if err != nil {
		c.s.log.Error("updates page", "err", err)
		http.Error(w, "could not read the registry", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := updatesPage[p.lang].Execute(w, v); err != nil {
		c.s.log.Error("render updates page", "err", err)
	}
}

// rolloutSv is the page's Swedish (and the overview's new columns),
// added to consoleSv; rolloutEn the English of raw states.
var rolloutSv = map[string]string{
	"Updates": "Uppdateringar",
	"A station is offered its group's target version when it runs an older one, never an older version. A release becomes the target of a group other than the pilot group only after a pilot station installed and kept it, and while no pilot station rolled it back or refused it. The station checks the bundle's signature itself.": "En station erbjuds sin grupps målversion när den kör en äldre, aldrig en äldre version. En version kan bli mål för en annan grupp än pilotgruppen först när en pilotstation har installerat och behållit den, och så länge ingen pilotstation har rullat tillbaka eller vägrat den. Stationen kontrollerar själv paketets signatur.",
	"Update groups":     "Uppdateringsgrupper",
	"Group":             "Grupp",
	"Target version":    "Målversion",
	"New target":        "Ny målversion",
	"Set target":        "Sätt målversion",
	"pilot group":       "pilotgrupp",
	"Releases":          "Versioner",
	"Size":              "Storlek",
	"Added":             "Tillagd",
	"Pilot":             "Pilot",
	"Results per group": "Utfall per grupp",
	"rolled back or refused by a pilot station":                                              "tillbakarullad eller vägrad av en pilotstation",
	"committed by a pilot station":                                                           "installerad och behållen av en pilotstation",
	"not yet committed by a pilot station":                                                   "ännu inte behållen av någon pilotstation",
	"No releases yet: central IT adds them on the registry host with registryd release add.": "Inga versioner ännu: central IT lägger till dem på registrets server med registryd release add.",
	"Slot":               "Plats (A/B)",
	"Update state":       "Uppdateringsläge",
	"Last update result": "Senaste uppdatering",
	"Move":               "Flytta",
	"Changed":            "Ändrad",
	"no target":          "ingen",
	"from":               "från",
	GroupGeneral:         "allmän",
	GroupPilot:           "pilot",
	"downloading":        "laddar ner",
	"downloaded":         "nedladdad, väntar på ett lugnt läge",
	"installing":         "installeras",
	"committed":          "installerad och behållen",
	"rolled_back":        "tillbakarullad",
	"install_error":      "vägrad av installationen",
	"download_error":     "nedladdningen misslyckades",
	textPilotFirst:       "Inget ändrades: en version kan bli mål för den här gruppen först när minst en pilotstation har installerat och behållit den, och inte om en pilotstation har rullat tillbaka eller vägrat den. Sätt den som pilotgruppens mål först.",
}

var rolloutEn = map[string]string{
	GroupGeneral: "general", GroupPilot: "pilot",
	"downloading": "downloading", "downloaded": "downloaded, waiting for a quiet moment", "installing": "installing",
	"committed": "installed and kept", "rolled_back": "rolled back", "install_error": "refused by the installer", "download_error": "download failed",
}

func init() {
	for k, v := range rolloutSv {
		if _, ok := consoleSv[k]; !ok {
			consoleSv[k] = v
		}
	}
	maps.Copy(consoleEn, rolloutEn)
}

// MiB is the bundle's size in MiB with one decimal.
func (r Release) MiB() string { return fmt.Sprintf("%.1f", float64(r.Size)/(1<<20)) }
