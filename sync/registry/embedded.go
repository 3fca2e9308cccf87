package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/pki"
)

// EmbeddedOptions tune StartEmbedded.
type EmbeddedOptions struct {
	// StationID of the local station; default "local-station".
	StationID string
	// Addr for the station API; default 127.0.0.1:0 (a free port).
	Addr string
	// AdminAddr for the admin page (the console in development mode:
	// plain HTTP, no login, loopback only); default 127.0.0.1:0. "-"
	// disables it.
	AdminAddr string
	// Demo seeds a new registry with made-up administrators, persons and
	// shipments (make run's simulation only: a real site's registry starts
	// empty, so no demo administrator can ever log in there).
	Demo bool
	// TrustAnchors are the SITHS roots (PEM) the registry gives the
	// station at enrolment. Default: a root made for this start whose key
	// is thrown away, so it vouches for no card (make run's simulation
	// trusts its development card CA instead, kiosk/app cardTrust).
	TrustAnchors []byte
}

// Embedded is a registry running in-process for `make run`.
type Embedded struct {
	Server   *Server
	URL      string         // station API, https://127.0.0.1:port
	AdminURL string         // console in development mode, http://127.0.0.1:port/admin ("" if disabled)
	Identity enrol.Identity // the local station's identity (files under dataDir/station)

	cancel context.CancelFunc
	done   chan error
}

// StartEmbedded starts a registry in dataDir/registry on loopback, seeds it
// with demonstration data the first time if opt.Demo, enrols the local station through
// the real enrolment path (identity files under dataDir/station) and
// serves until ctx ends or Close is called.
func StartEmbedded(ctx context.Context, dataDir string, log *slog.Logger, opt EmbeddedOptions) (*Embedded, error) {
	if log == nil {
		log = slog.Default()
	}
	if opt.StationID == "" {
		opt.StationID = "local-station"
	}
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	if opt.AdminAddr == "" {
		opt.AdminAddr = "127.0.0.1:0"
	}
	regDir := filepath.Join(dataDir, "registry")
	_, statErr := os.Stat(filepath.Join(regDir, "registry.db"))
	fresh := errors.Is(statErr, os.ErrNotExist)
	anchors := opt.TrustAnchors
	if len(anchors) == 0 {
		ca, _, err := pki.NewCA("Kortstation embedded registry placeholder root (issues no card)", 365*24*time.Hour)
		if err != nil {
			return nil, fmt.Errorf("registry: placeholder root: %w", err)
		}
		anchors = ca.CertPEM
	}
	srv, err := Open(ctx, Config{DataDir: regDir, Logger: log, TrustAnchors: anchors})
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*Embedded, error) { srv.Close(); return nil, err }
	if fresh && opt.Demo {
		if err := srv.Seed(ctx, opt.StationID); err != nil {
			return fail(fmt.Errorf("registry: seed: %w", err))
		}
	}
	ln, err := net.Listen("tcp", opt.Addr)
	if err != nil {
		return fail(fmt.Errorf("registry: listen: %w", err))
	}
	var aln net.Listener
	var console *Console
	if opt.AdminAddr != "-" {
		if console, err = srv.NewConsole(ctx, ConsoleConfig{Dev: true}); err != nil {
			ln.Close()
			return fail(err)
		}
		if aln, err = net.Listen("tcp", opt.AdminAddr); err != nil {
			ln.Close()
			return fail(fmt.Errorf("registry: listen admin: %w", err))
		}
		if a, ok := aln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			ln.Close()
			aln.Close()
			return fail(fmt.Errorf("%w: the embedded registry's console on %s", ErrConsoleInsecure, aln.Addr()))
		}
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Embedded{Server: srv, URL: "https://" + ln.Addr().String(), cancel: cancel, done: make(chan error, 2)}
	go func() { e.done <- srv.Serve(rctx, ln) }()
	if aln != nil {
		e.AdminURL = "http://" + aln.Addr().String() + "/admin"
		go func() { e.done <- console.Serve(rctx, aln) }()
	} else {
		e.done <- nil
	}
	go func() {
		select {
		case <-ctx.Done():
			cancel()
		case <-rctx.Done():
		}
	}()
	stationDir := filepath.Join(dataDir, "station")
	id := enrol.InDir(stationDir, opt.StationID, e.URL)
	if err := id.Validate(time.Now()); err != nil || !srv.isCurrentCert(ctx, id) {
		code, err := srv.NewReplacementEnrolCode(ctx, opt.StationID, time.Hour) // the embedded station is ours: replacing its lost identity is intended
		if err != nil {
			e.Close()
			return nil, err
		}
		if id, err = enrol.Enrol(ctx, e.URL, code, srv.CA().Fingerprint(), stationDir); err != nil {
			e.Close()
			return nil, err
		}
	}
	e.Identity = id
	log.Info("embedded registry running", "url", e.URL, "admin", e.AdminURL, "station", opt.StationID)
	return e, nil
}

// isCurrentCert reports whether the identity's certificate is the one the
// registry has on record for the station.
func (s *Server) isCurrentCert(ctx context.Context, id enrol.Identity) bool {
	b, err := os.ReadFile(id.CertFile)
	if err != nil {
		return false
	}
	c, err := pki.ParseCertPEM(b)
	if err != nil || c.CheckSignatureFrom(s.ca.Cert) != nil {
		return false
	}
	var serial string
	if err := s.db.reader.QueryRowContext(ctx, `SELECT coalesce(cert_serial, '') FROM stations WHERE id = ?`, id.StationID).Scan(&serial); err != nil {
		return false
	}
	return serial == c.SerialNumber.Text(16)
}

// Close stops the servers and closes the database.
func (e *Embedded) Close() error {
	e.cancel()
	err1, err2 := <-e.done, <-e.done
	return errors.Join(err1, err2, e.Server.Close())
}
