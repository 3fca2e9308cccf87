package provision

import (
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
)

// Form serves the touchscreen's provisioning page until the station is
// provisioned. GET / shows the form; POST / validates and writes through the
// Writer, then calls Done once; GET /healthz answers 503 so that the page's
// poll waits for kioskd, which takes over the address after Done.
type Form struct {
	Writer Writer
	Log    *slog.Logger
	Done   func() // called once, after a successful write
	// Notice, if set, is shown above the empty form: why the form is
	// shown, e.g. a technician's file that could not be used (Swedish).
	Notice string

	once sync.Once
	mu   sync.Mutex // one write at a time
}

// ServeHTTP implements http.Handler.
func (f *Form) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
	switch {
	case r.URL.Path == "/healthz":
		http.Error(w, "provisioning", http.StatusServiceUnavailable)
	case r.URL.Path != "/":
		http.Redirect(w, r, "/", http.StatusSeeOther)
	case r.Method == http.MethodGet:
		f.render(w, http.StatusOK, page{Error: f.Notice})
	case r.Method == http.MethodPost:
		f.post(w, r)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (f *Form) post(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		f.render(w, http.StatusBadRequest, page{Error: "Formuläret kunde inte läsas."})
		return
	}
	req := Request{
		RegistryURL:           r.PostForm.Get("registry-url"),
		EnrolCode:             r.PostForm.Get("enrol-code"),
		StationID:             r.PostForm.Get("station-id"),
		RegistryCAFingerprint: r.PostForm.Get("registry-ca-fingerprint"),
	}
	// What the form shows again after a refusal: never the code.
	again := page{RegistryURL: req.RegistryURL, StationID: req.StationID, Fingerprint: req.RegistryCAFingerprint}
	f.mu.Lock()
	defer f.mu.Unlock()
	if Provisioned(f.Writer.Dir) {
		f.render(w, http.StatusOK, page{Done: true})
		return
	}
	if err := f.Writer.Write(req); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			// The entered address is shown again; the code never is.
			f.Log.Info("provisioning value rejected", "field", fe.Field, "reason", fe.Reason)
			again.Error = fe.Sv
			if again.Error == "" {
				again.Error = "Ett av värdena kan inte användas. Kontrollera dem och försök igen."
			}
			f.render(w, http.StatusUnprocessableEntity, again)
			return
		}
		f.Log.Error("provisioning failed", "err", err)
		again.Error = "Kunde inte spara: " + err.Error()
		f.render(w, http.StatusInternalServerError, again)
		return
	}
	f.Log.Info("station provisioned", "registry_url", req.RegistryURL)
	f.render(w, http.StatusOK, page{Done: true})
	if f.Done != nil {
		f.once.Do(f.Done)
	}
}

type page struct {
	Error       string
	RegistryURL string
	StationID   string
	Fingerprint string
	Done        bool
}

func (f *Form) render(w http.ResponseWriter, status int, p page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := formTmpl.Execute(w, p); err != nil {
		f.Log.Error("render provisioning page", "err", err)
	}
}

var formTmpl = template.Must(template.New("form").Parse(`<!doctype html>
<html lang="sv"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kortstation – första start</title>
<style>
body{font:20px/1.4 sans-serif;margin:2em auto;max-width:40em;padding:0 1em}
label{display:block;margin:1em 0 .3em}
input{font:inherit;width:100%;padding:.5em;box-sizing:border-box}
button{font:inherit;margin-top:1.5em;padding:.7em 2em}
.err{color:#a00;font-weight:bold}
</style></head><body>
<h1>Kortstation – första start</h1>
{{if .Done}}
<p id="done">Stationen är konfigurerad och startar. Sidan laddas om när den är klar.</p>
<script>
(function poll(){fetch("/healthz",{cache:"no-store"}).then(function(r){
 if(r.ok){location.replace("/")}else{setTimeout(poll,1000)}}).catch(function(){setTimeout(poll,1000)})})();
</script>
{{else}}
<p>Ange registrets adress, den engångskod, det CA-fingeravtryck och det stations-ID som den centrala administratören gav för den här stationen.</p>
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="/" autocomplete="off">
<label for="registry-url">Registrets adress</label>
<input id="registry-url" name="registry-url" type="url" required placeholder="https://register.example.se" value="{{.RegistryURL}}">
<label for="enrol-code">Engångskod</label>
<input id="enrol-code" name="enrol-code" required autocapitalize="characters" spellcheck="false">
<label for="registry-ca-fingerprint">Registrets CA-fingeravtryck (SHA-256, 64 tecken 0–9 och A–F)</label>
<input id="registry-ca-fingerprint" name="registry-ca-fingerprint" required autocapitalize="characters" spellcheck="false" value="{{.Fingerprint}}">
<label for="station-id">Stations-ID</label>
<input id="station-id" name="station-id" required spellcheck="false" value="{{.StationID}}">
<button type="submit">Spara och starta</button>
</form>
{{end}}
</body></html>
`))

// FileNotice is the form's Notice after a technician's provisioning file
// (name) was refused with err and deleted: what was wrong, in Swedish when
// the error says it, and what to do now. It never holds the file's values.
func FileNotice(name string, err error) string {
	why := "Ett av värdena i filen kan inte användas."
	var fe *FieldError
	if errors.As(err, &fe) && fe.Sv != "" {
		why = fe.Sv
	}
	return "Filen " + name + " på SD-kortet kunde inte användas och har tagits bort, eftersom den innehöll engångskoden. " + why + " Ange värdena här i stället."
}
