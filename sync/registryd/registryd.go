// Package registryd is the command line of the reference registry:
// `registryd serve` runs it, `registryd admin …` drives a running one
// through its admin API, `registryd seed` fills a new one with
// demonstration data.
package registryd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kortstation/kortstation/sync/registry"
)

const usage = `usage:
  registryd serve [-data DIR] [-listen ADDR] [-admin ADDR] [-hosts a,b] [-seed STATION]
  registryd seed  [-data DIR] STATION
  registryd admin [-url URL] stations
  registryd admin [-url URL] enrol-code STATION [--replace]   (--replace: the station has a certificate; enrolling revokes it)
  registryd admin [-url URL] revoke-station STATION          (its certificate is refused from now on)
  registryd admin [-url URL] review                          (events stored but not applied, for central review)
  registryd admin [-url URL] sync-now|lock|unlock STATION
  registryd admin [-url URL] approve|reject ISSUANCE-ID
  registryd admin [-url URL] block SERIAL REASON
  registryd admin [-url URL] stop-window order_stop|total_stop START END [NOTE]   (times YYYY-MM-DDTHH:MM UTC)
  registryd admin [-url URL] validity REASON MAX-DAYS
  registryd admin [-url URL] set-policy STATION typed-attestors=true|false   (allow attestors typed in without a card, marked unverified)
  registryd admin [-url URL] add-intermediate FILE      (a SITHS intermediate CA certificate, DER or PEM)
  registryd admin [-url URL] remove-intermediate SHA256
  registryd admin [-url URL] add-crl FILE               (a SITHS CA's revocation list, DER or PEM)
`

// ErrUsage is returned for a malformed command line.
var ErrUsage = errors.New("bad usage")

// Run runs one registryd command.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ErrUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stderr)
	case "seed":
		return seed(ctx, args[1:], stderr)
	case "admin":
		return admin(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory (database, CA, server certificate)")
	listen := fs.String("listen", ":8443", "station API address (mutual TLS)")
	adminAddr := fs.String("admin", "127.0.0.1:8444", "admin page address (plain HTTP: keep it on loopback)")
	hosts := fs.String("hosts", "localhost,127.0.0.1", "names and IPs in the server certificate")
	seedStation := fs.String("seed", "", "seed demonstration data for this station on first start")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Hosts: strings.Split(*hosts, ","), Logger: log})
	if err != nil {
		return err
	}
	defer srv.Close()
	if *seedStation != "" {
		if err := srv.Seed(ctx, *seedStation); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	aln, err := net.Listen("tcp", *adminAddr)
	if err != nil {
		ln.Close()
		return fmt.Errorf("listen admin: %w", err)
	}
	log.Info("registry serving", "stations", ln.Addr().String(), "admin", "http://"+aln.Addr().String()+"/admin", "ca_fingerprint", srv.CA().Fingerprint())
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ctx, ln) }()
	go func() { errc <- srv.ServeAdmin(ctx, aln) }()
	return errors.Join(<-errc, <-errc)
}

func seed(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: seed needs a station ID", ErrUsage)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Seed(ctx, fs.Arg(0))
}

func admin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8444", "the registry's admin address")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	a := fs.Args()
	need := func(n int) error {
		if len(a) != n+1 && !(a[0] == "stop-window" && len(a) == n+2) {
			fmt.Fprint(stderr, usage)
			return fmt.Errorf("%w: %s needs %d arguments", ErrUsage, a[0], n)
		}
		return nil
	}
	if len(a) == 0 {
		fmt.Fprint(stderr, usage)
		return ErrUsage
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	b := strings.TrimRight(*base, "/")
	switch a[0] {
	case "stations":
		var st []registry.StationInfo
		if err := getJSON(ctx, hc, b+"/admin/api/stations", &st); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-20s %-8s %-10s %-25s %-8s %-7s %s\n", "STATION", "LOCKED", "VERSION", "LAST SYNC", "OUTBOX", "EVENTS", "LAST ERROR")
		for _, s := range st {
			last := "never"
			if !s.Status.LastSync.IsZero() {
				last = s.Status.LastSync.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%-20s %-8t %-10s %-25s %-8d %-7d %s\n", s.ID, s.Locked, s.Status.Version, last, s.Status.OutboxDepth, s.Events, s.Status.LastError)
		}
		return nil
	case "enrol-code":
		form := url.Values{}
		if len(a) == 3 && (a[2] == "--replace" || a[2] == "-replace") {
			form.Set("replace", "1")
			a = a[:2]
		}
		if err := need(1); err != nil {
			return err
		}
		form.Set("station", a[1])
		code, err := postForm(ctx, hc, b+"/admin/enrol-code", form)
		if err != nil {
			return err
		}
		var ca struct{ Fingerprint string }
		if err := getJSON(ctx, hc, b+"/admin/api/ca", &ca); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "station:        %s\ncode:           %s\nCA fingerprint: %s\n", a[1], code, ca.Fingerprint)
		return nil
	case "revoke-station":
		if err := need(1); err != nil {
			return err
		}
		out, err := postForm(ctx, hc, b+"/admin/revoke-station", url.Values{"station": {a[1]}})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, out)
		return nil
	case "review":
		var items []registry.ReviewItem
		if err := getJSON(ctx, hc, b+"/admin/api/review", &items); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%-20s %-8s %-16s %-24s %s\n", "STATION", "SEQ", "KIND", "CARD", "REASON")
		for _, r := range items {
			fmt.Fprintf(stdout, "%-20s %-8d %-16s %-24s %s\n", r.Station, r.Seq, r.Kind, r.CardSerial, r.Reason)
		}
		return nil
	case "sync-now", "lock", "unlock":
		if err := need(1); err != nil {
			return err
		}
		kind := strings.ReplaceAll(a[0], "-", "_")
		out, err := postForm(ctx, hc, b+"/admin/command", url.Values{"station": {a[1]}, "kind": {kind}})
		if err == nil {
			fmt.Fprintf(stdout, "command %s queued for %s (id %s)\n", kind, a[1], out)
		}
		return err
	case "approve", "reject":
		if err := need(1); err != nil {
			return err
		}
		out, err := postForm(ctx, hc, b+"/admin/issuance", url.Values{"id": {a[1]}, "decision": {a[0]}})
		if err == nil {
			fmt.Fprintln(stdout, out)
		}
		return err
	case "block":
		if err := need(2); err != nil {
			return err
		}
		_, err := postForm(ctx, hc, b+"/admin/block", url.Values{"serial": {a[1]}, "reason": {a[2]}})
		if err == nil {
			fmt.Fprintf(stdout, "blocked %s\n", a[1])
		}
		return err
	case "stop-window":
		if err := need(3); err != nil {
			return err
		}
		v := url.Values{"kind": {a[1]}, "starts": {a[2]}, "ends": {a[3]}}
		if len(a) > 4 {
			v.Set("note", a[4])
		}
		out, err := postForm(ctx, hc, b+"/admin/stop-window", v)
		if err == nil {
			fmt.Fprintf(stdout, "stop window %s added\n", out)
		}
		return err
	case "validity":
		if err := need(2); err != nil {
			return err
		}
		_, err := postForm(ctx, hc, b+"/admin/validity", url.Values{"reason": {a[1]}, "max_days": {a[2]}})
		if err == nil {
			fmt.Fprintf(stdout, "validity %s = %s days\n", a[1], a[2])
		}
		return err
	case "set-policy":
		if err := need(2); err != nil {
			return err
		}
		key, val, ok := strings.Cut(a[2], "=")
		if !ok || key != "typed-attestors" || (val != "true" && val != "false") {
			fmt.Fprint(stderr, usage)
			return fmt.Errorf("%w: set-policy takes typed-attestors=true or typed-attestors=false, got %q", ErrUsage, a[2])
		}
		_, err := postForm(ctx, hc, b+"/admin/station-policy", url.Values{"station": {a[1]}, "typed_attestors": {val}})
		if err == nil {
			fmt.Fprintf(stdout, "policy of %s: typed-attestors=%s\n", a[1], val)
		}
		return err
	case "add-intermediate", "add-crl":
		if err := need(1); err != nil {
			return err
		}
		file, err := os.ReadFile(a[1])
		if err != nil {
			return err
		}
		path, what := "/admin/intermediate", "intermediate"
		if a[0] == "add-crl" {
			path, what = "/admin/crl", "CRL"
		}
		out, err := postForm(ctx, hc, b+path, url.Values{"data": {base64.StdEncoding.EncodeToString(file)}})
		if err == nil {
			fmt.Fprintf(stdout, "%s added (SHA-256 %s)\n", what, out)
		}
		return err
	case "remove-intermediate":
		if err := need(1); err != nil {
			return err
		}
		_, err := postForm(ctx, hc, b+"/admin/intermediate/delete", url.Values{"fingerprint": {a[1]}})
		if err == nil {
			fmt.Fprintf(stdout, "intermediate %s removed\n", a[1])
		}
		return err
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown admin command %q", ErrUsage, a[0])
}

// AdminError is a refusal from the admin API.
type AdminError struct {
	Status  int
	Message string
}

func (e *AdminError) Error() string {
	return fmt.Sprintf("registry refused (%d): %s", e.Status, e.Message)
}

func postForm(ctx context.Context, hc *http.Client, u string, v url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/plain")
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("admin API: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	out := strings.TrimSpace(string(body))
	if res.StatusCode != http.StatusOK {
		return "", &AdminError{Status: res.StatusCode, Message: out}
	}
	return out, nil
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
		return &AdminError{Status: res.StatusCode, Message: strings.TrimSpace(string(body))}
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	return nil
}
