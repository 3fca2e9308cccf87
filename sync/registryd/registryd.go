// Package registryd is the command line of the reference registry:
// `registryd serve` runs it, `registryd admin …` drives a running one
// through its admin API, `registryd seed` fills a new one with
// demonstration data.
package registryd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/registry"
)

const usage = `usage:
  registryd serve [-data DIR] [-database URL|FILE] [-listen ADDR] [-hosts a,b] [-seed STATION] [-metrics ADDR|-]
                  -trust-anchors FILE   (required: the SITHS root CA certificates, PEM, each station gets at enrolment)
                  [-admin ADDR|-] -console-anchors FILE -console-roles FILE [-console-cert FILE -console-key FILE] [-console-crl-grace D]
                  (the console is HTTPS with SITHS client certificates; -admin - runs without it)
                  [-smtp-relay HOST:PORT -smtp-from ADDR [-smtp-starttls required|opportunistic|none]
                   [-smtp-user U -smtp-password-file FILE] [-smtp-ca FILE]]   (RE-5 e-mail; without a relay: log only)
                  (-database postgres://…: PostgreSQL, several instances may share it; default $REGISTRYD_DATABASE,
                   else SQLite in -data. Every command with -data takes -database too)
  registryd contacts [-data DIR] FILE                       (e-mail addresses for notifications: lines "HSA-ID-OR-PERSONAL-NUMBER EMAIL [sv|en]")
  registryd seed  [-data DIR] STATION
  registryd backup [-data DIR] -out DIR                      (SQLite: a consistent copy while the registry serves; restore: -data DIR)
  registryd release add [-data DIR] -version V FILE           (a signed RAUC bundle of the station software, Debian version V;
                                                             the console's Updates page sets which group gets it)
  registryd release list [-data DIR]
  registryd audit verify [-data DIR]                        (checks the console's hash-chained audit trail)
  registryd trust add-intermediate|add-crl [-data DIR] FILE (on the registry host: the first SITHS material, or a CRL
                                                             when a stale one keeps everyone out of the console)
  registryd admin [CONN] stations                           (CONN: -url https://HOST:PORT -cert FILE -key FILE [-ca FILE])
  registryd admin [CONN] enrol-code STATION [--replace]   (--replace: the station has a certificate; enrolling revokes it)
  registryd admin [CONN] revoke-station STATION REASON   (its certificate is refused from now on)
  registryd admin [CONN] review                          (events stored but not applied, for central review)
  registryd admin [CONN] audit                           (the console's audit trail, security officers)
  registryd admin [CONN] sync-now|lock|unlock STATION
  registryd admin [CONN] approve ISSUANCE-ID
  registryd admin [CONN] reject ISSUANCE-ID REASON
  registryd admin [CONN] block SERIAL REASON
  registryd admin [CONN] stop-window order_stop|total_stop START END [NOTE]   (times YYYY-MM-DDTHH:MM Swedish time, or RFC 3339 with an offset)
  registryd admin [CONN] validity REASON MAX-DAYS
  registryd admin [CONN] set-policy STATION typed-attestors=true|false   (allow attestors typed in without a card, marked unverified)
  registryd admin [CONN] add-intermediate FILE      (a SITHS intermediate CA certificate, DER or PEM)
  registryd admin [CONN] remove-intermediate SHA256
  registryd admin [CONN] add-crl FILE               (a SITHS CA's revocation list, DER or PEM)
`

// ErrUsage is returned for a malformed command line.
var ErrUsage = errors.New("bad usage")

// ErrNoTrustAnchors: serve was not given usable SITHS roots to hand the
// stations at enrolment (-trust-anchors); it does not start.
var ErrNoTrustAnchors = errors.New("no usable SITHS trust anchors")

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
	case "audit":
		return auditCmd(ctx, args[1:], stdout, stderr)
	case "trust":
		return trustCmd(ctx, args[1:], stdout, stderr)
	case "backup":
		return backupCmd(ctx, args[1:], stdout, stderr)
	case "contacts":
		return contactsCmd(ctx, args[1:], stdout, stderr)
	case "release":
		return releaseCmd(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", ErrUsage, args[0])
}

// ErrInsecureConsole: serve was asked for a console without TLS and
// client authentication.
var ErrInsecureConsole = registry.ErrConsoleInsecure

// databaseEnv is the environment variable with the default of -database
// (registryd.env: a PostgreSQL URL with its password stays out of ps).
const databaseEnv = "REGISTRYD_DATABASE"

// databaseFlag registers -database: a PostgreSQL URL or a SQLite file.
func databaseFlag(fs *flag.FlagSet) *string {
	return fs.String("database", os.Getenv(databaseEnv),
		"the registry's database: postgres://user@host/db?sslmode=verify-full (several instances may share it) or a SQLite file; default $"+databaseEnv+", else registry.db in -data")
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory (database, CA, server certificate)")
	database := databaseFlag(fs)
	listen := fs.String("listen", ":8443", "station API address (mutual TLS)")
	adminAddr := fs.String("admin", "127.0.0.1:8444", "console address (HTTPS, SITHS client certificates); - for none")
	anchorsFile := fs.String("console-anchors", "", "PEM trust anchors of the central admins' SITHS certificates (required for the console)")
	rolesFile := fs.String("console-roles", "", "roles file: one HSA-ID a line, then its roles (required for the console)")
	certFile := fs.String("console-cert", "", "the console's server certificate (PEM); default the registry's own, issued by its CA for -hosts")
	keyFile := fs.String("console-key", "", "the key of -console-cert (PEM)")
	grace := fs.Duration("console-crl-grace", time.Hour, "how long past its next update a CRL is still relied on for console logins")
	unsynced := fs.Bool("console-allow-unsynced-clock", false, "check admins' certificates by a clock not known to be NTP-synchronised (containers, tests)")
	hosts := fs.String("hosts", "localhost,127.0.0.1", "names and IPs in the server certificate; the console answers only to these")
	seedStation := fs.String("seed", "", "seed demonstration data for this station on first start")
	trustAnchorsFile := fs.String("trust-anchors", "", "PEM file of the SITHS root CA certificates every station gets at enrolment: the roots its operators' and attestors' cards must chain to (required)")
	metricsAddr := fs.String("metrics", "127.0.0.1:9464", "address of /metrics, /readyz and /livez (plain HTTP for Prometheus and load balancers; station IDs, no personal data); - for none")
	var mcfg mailFlags
	mcfg.register(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	mailCfg, err := mcfg.config()
	if err != nil {
		return err
	}
	var ccfg registry.ConsoleConfig
	if *adminAddr != "-" {
		if *anchorsFile == "" || *rolesFile == "" {
			where := "on loopback"
			if !isLoopback(*adminAddr) {
				where = "on the non-loopback address " + *adminAddr
			}
			return fmt.Errorf("%w: refusing to serve the console %s without TLS and client authentication: give -console-anchors FILE (the admins' SITHS trust anchors) and -console-roles FILE (HSA-IDs and their roles), or -admin - for no console; plain HTTP is only for make run's embedded registry",
				ErrInsecureConsole, where)
		}
		anchors, err := os.ReadFile(*anchorsFile)
		if err != nil {
			return fmt.Errorf("-console-anchors: %w", err)
		}
		rb, err := os.ReadFile(*rolesFile)
		if err != nil {
			return fmt.Errorf("-console-roles: %w", err)
		}
		roles, err := registry.ParseRoles(rb)
		if err != nil {
			return fmt.Errorf("-console-roles %s: %w", *rolesFile, err)
		}
		ccfg = registry.ConsoleConfig{Anchors: anchors, Roles: roles, CRLGrace: *grace, AllowUnsyncedClock: *unsynced}
		if (*certFile == "") != (*keyFile == "") {
			return fmt.Errorf("%w: -console-cert and -console-key go together", ErrUsage)
		}
		if *certFile != "" {
			c, err := tls.LoadX509KeyPair(*certFile, *keyFile)
			if err != nil {
				return fmt.Errorf("-console-cert: %w", err)
			}
			ccfg.Certificate = &c
		}
	}
	// Fail closed: a registry without SITHS roots would enrol stations that
	// cannot trust any card. It does not start.
	if *trustAnchorsFile == "" {
		return fmt.Errorf("%w: -trust-anchors FILE is required: the SITHS root CA certificates (PEM) each station gets at enrolment to know whose cards to trust", ErrNoTrustAnchors)
	}
	trustAnchors, err := os.ReadFile(*trustAnchorsFile)
	if err != nil {
		return fmt.Errorf("%w: -trust-anchors: %w", ErrNoTrustAnchors, err)
	}
	if _, err := pki.ParseTrustAnchors(trustAnchors); err != nil {
		return fmt.Errorf("%w: -trust-anchors %s: %w", ErrNoTrustAnchors, *trustAnchorsFile, err)
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("notifications (RE-5)", "config", mailCfg.String())
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Database: *database, Hosts: strings.Split(*hosts, ","), Logger: log, Mail: mailCfg,
		TrustAnchors: trustAnchors})
	if err != nil {
		return err
	}
	defer srv.Close()
	if *seedStation != "" {
		if err := srv.Seed(ctx, *seedStation); err != nil {
			return err
		}
	}
	var console *registry.Console
	if *adminAddr != "-" {
		if console, err = srv.NewConsole(ctx, ccfg); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 3)
	go func() { errc <- srv.Serve(ctx, ln) }()
	consoleURL := "none"
	if console != nil {
		aln, err := net.Listen("tcp", *adminAddr)
		if err != nil {
			ln.Close()
			<-errc
			return fmt.Errorf("listen console: %w", err)
		}
		consoleURL = "https://" + aln.Addr().String() + "/admin"
		go func() { errc <- console.Serve(ctx, aln) }()
	} else {
		errc <- nil
	}
	metricsURL := "none"
	if *metricsAddr != "-" {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			cancel() // stop the servers started, and wait for them
			return errors.Join(fmt.Errorf("listen metrics: %w", err), <-errc, <-errc)
		}
		metricsURL = "http://" + mln.Addr().String() + "/metrics"
		go func() { errc <- srv.ServeMetrics(ctx, mln) }()
	} else {
		errc <- nil
	}
	log.Info("registry serving", "stations", ln.Addr().String(), "console", consoleURL, "metrics", metricsURL, "ca_fingerprint", srv.CA().Fingerprint())
	return errors.Join(<-errc, <-errc, <-errc)
}

// isLoopback reports whether addr (host:port) names a loopback address.
func isLoopback(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// HostActor is who acts in the audit trail for registryd commands run on
// the registry host itself (trust).
const HostActor = "host:registryd"

func trustCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add-intermediate" && args[0] != "add-crl") {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: trust takes add-intermediate or add-crl", ErrUsage)
	}
	fs := flag.NewFlagSet("trust", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory")
	database := databaseFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: trust %s needs a FILE", ErrUsage, args[0])
	}
	b, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Database: *database, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	add, kind := srv.AddIntermediate, "trust.intermediate_add"
	if args[0] == "add-crl" {
		add, kind = srv.AddCRL, "trust.crl_add"
	}
	fp, err := add(ctx, b)
	if err != nil {
		return err
	}
	if err := srv.AppendAdminAudit(ctx, audit.Entry{Kind: kind, Actor: HostActor, Subject: fp, Detail: map[string]any{"from": "registry host", "outcome": "ok"}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "added (SHA-256 %s); a running console uses it within a minute\n", fp)
	return nil
}

func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: audit takes verify", ErrUsage)
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory")
	database := databaseFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Database: *database, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	res, err := srv.VerifyAdminAudit(ctx)
	if err != nil {
		return fmt.Errorf("console audit trail: %w", err)
	}
	fmt.Fprintf(stdout, "console audit trail verified: %d entries, head %s\n", res.Entries, res.Head)
	return nil
}

// backupCmd copies the data directory while the registry serves
// (docs/registry-operations.md).
func backupCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory")
	database := databaseFlag(fs)
	out := fs.String("out", "", "the backup's directory (must not exist)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if *out == "" {
		return fmt.Errorf("%w: backup needs -out DIR", ErrUsage)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Database: *database, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.Backup(ctx, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backup written to %s\n", *out)
	return nil
}

func seed(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory")
	database := databaseFlag(fs)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: seed needs a station ID", ErrUsage)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Database: *database, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Seed(ctx, fs.Arg(0))
}

func admin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "https://127.0.0.1:8444", "the registry's console")
	certFile := fs.String("cert", "", "your client certificate (PEM), whose HSA-ID has a role at the console")
	keyFile := fs.String("key", "", "its key (PEM)")
	caFile := fs.String("ca", "", "the CA of the console's server certificate (PEM); default the system's roots")
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
	hc, err := consoleClient(*certFile, *keyFile, *caFile)
	if err != nil {
		return err
	}
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
		if err := need(2); err != nil {
			return err
		}
		out, err := postForm(ctx, hc, b+"/admin/revoke-station", url.Values{"station": {a[1]}, "reason": {a[2]}})
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
	case "audit":
		var trail struct {
			Entries []struct {
				Seq                          int64
				At                           time.Time
				Kind, Actor, Subject, Detail string
			}
			Verified    bool
			Head, Break string
			Count       int64
		}
		if err := getJSON(ctx, hc, b+"/admin/api/audit", &trail); err != nil {
			return err
		}
		if trail.Verified {
			fmt.Fprintf(stdout, "verified: %d entries, head %s\n", trail.Count, trail.Head)
		} else {
			fmt.Fprintf(stdout, "BROKEN: %s\n", trail.Break)
		}
		for _, e := range trail.Entries {
			fmt.Fprintf(stdout, "%-6d %s %-28s %-26s %-20s %s\n", e.Seq, e.At.UTC().Format(time.RFC3339), e.Actor, e.Kind, e.Subject, e.Detail)
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
		n := 1
		if a[0] == "reject" {
			n = 2 // a rejection needs a reason
		}
		if err := need(n); err != nil {
			return err
		}
		v := url.Values{"id": {a[1]}, "decision": {a[0]}}
		if n == 2 {
			v.Set("reason", a[2])
		}
		out, err := postForm(ctx, hc, b+"/admin/issuance", v)
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

// consoleClient is an HTTPS client with the admin's certificate, the
// console's CA and a cookie jar for the console session.
func consoleClient(certFile, keyFile, caFile string) (*http.Client, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if (certFile == "") != (keyFile == "") {
		return nil, fmt.Errorf("%w: -cert and -key go together", ErrUsage)
	}
	if certFile != "" {
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("-cert: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("-ca %s: no PEM certificate", caFile)
		}
		tc.RootCAs = pool
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 30 * time.Second, Jar: jar, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}, nil
}

// postForm posts v with the session's CSRF token, which it fetches first
// (the console needs it in every POST, from any client).
func postForm(ctx context.Context, hc *http.Client, u string, v url.Values) (string, error) {
	var sess struct{ CSRF string }
	pu, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	if err := getJSON(ctx, hc, pu.Scheme+"://"+pu.Host+"/admin/api/session", &sess); err != nil {
		return "", err
	}
	v.Set("csrf", sess.CSRF)
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

// releaseCmd adds a release of the station software (a RAUC bundle) or
// lists them, on the registry host (issue 16, staged rollout).
func releaseCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "add" && args[0] != "list") {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: release takes add or list", ErrUsage)
	}
	fs := flag.NewFlagSet("release "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	data := fs.String("data", "/var/lib/registryd", "data directory (the bundle goes to its releases directory)")
	database := databaseFlag(fs)
	version := fs.String("version", "", "the release's Debian version (as in the bundle's /etc/kortstation-release)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if args[0] == "add" && (fs.NArg() != 1 || *version == "") {
		return fmt.Errorf("%w: release add needs -version V and a FILE", ErrUsage)
	}
	srv, err := registry.Open(ctx, registry.Config{DataDir: *data, Database: *database, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	defer srv.Close()
	if args[0] == "list" {
		rels, err := srv.Releases(ctx)
		if err != nil {
			return err
		}
		for _, r := range rels {
			fmt.Fprintf(stdout, "%s\t%d bytes\tsha256 %s\tadded %s by %s\n", r.Version, r.Size, r.SHA256, r.AddedAt.Format(time.RFC3339), r.AddedBy)
		}
		return nil
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	rel, err := srv.AddRelease(ctx, *version, f, HostActor)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "release %s added: %d bytes, SHA-256 %s; set it as a group's target on the console's Updates page (the pilot group first)\n", rel.Version, rel.Size, rel.SHA256)
	return nil
}
