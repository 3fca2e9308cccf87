package app

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kortstation/kortstation/hw/cardreader/vcard"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/counter"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/update"
	"github.com/kortstation/kortstation/kiosk/version"
	"github.com/kortstation/kortstation/sync/client/control"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/client/schedule"
	"github.com/kortstation/kortstation/sync/pki"
	"github.com/kortstation/kortstation/sync/protocol"
	"github.com/kortstation/kortstation/sync/registry"
)

// identityDir is where the station's enrolment files live.
func identityDir(cfg config.Config) string { return filepath.Join(cfg.DataDir, "station") }

// registryIdentity returns the station's identity at the registry: for the
// embedded registry it starts one (the caller closes it); for a remote one
// it reads the enrolment files.
func registryIdentity(ctx context.Context, cfg config.Config, log *slog.Logger) (enrol.Identity, *registry.Embedded, error) {
	if cfg.Registry == "embedded" {
		_, statErr := os.Stat(filepath.Join(cfg.DataDir, "registry", "registry.db"))
		emb, err := registry.StartEmbedded(ctx, cfg.DataDir, log.With("component", "registry"), registry.EmbeddedOptions{StationID: cfg.StationID, Demo: cfg.Simulation})
		if err != nil {
			return enrol.Identity{}, nil, fmt.Errorf("embedded registry: %w", err)
		}
		if errors.Is(statErr, os.ErrNotExist) && cfg.Simulation {
			if err := seedDevRegistry(ctx, emb.Server, cfg.StationID); err != nil {
				emb.Close()
				return enrol.Identity{}, nil, fmt.Errorf("embedded registry: dev data: %w", err)
			}
		}
		return emb.Identity, emb, nil
	}
	id := enrol.InDir(identityDir(cfg), cfg.StationID, cfg.RegistryURL)
	if cfg.StationCert != "" || cfg.StationKey != "" {
		// An identity set up by hand: its files, and its CA if named.
		id.CertFile, id.KeyFile = cfg.StationCert, cfg.StationKey
		if cfg.RegistryCA != "" {
			id.CAFile = cfg.RegistryCA
		}
	}
	err := id.Validate(time.Now())
	if err != nil && cfg.EnrolCode != "" && cfg.StationCert == "" && cfg.StationKey == "" {
		// First start after provisioning: exchange the one-time code for
		// the station's certificate, then carry on with it.
		log.Info("not enrolled yet; enrolling with the provisioned code", "registry", cfg.RegistryURL)
		if err := enrolStation(ctx, cfg, Env{Stdout: io.Discard}); err != nil {
			return id, nil, err
		}
		id = enrol.InDir(identityDir(cfg), cfg.StationID, cfg.RegistryURL)
		err = id.Validate(time.Now())
	}
	if err != nil {
		return id, nil, fmt.Errorf("station identity (run `kioskd enrol` first): %w", err)
	}
	return id, nil, nil
}

// caFingerprint is the fingerprint to pin at enrolment: the configured
// one, or that of the CA certificate in registry-ca (as provisioning
// leaves it).
func caFingerprint(cfg config.Config) (string, error) {
	if cfg.RegistryCAFingerprint != "" {
		return cfg.RegistryCAFingerprint, nil
	}
	if cfg.RegistryCA == "" {
		return "", &config.KeyError{Key: "registry-ca-fingerprint", Reason: "enrolment needs registry-ca-fingerprint or a registry-ca file to pin the registry by"}
	}
	b, err := os.ReadFile(cfg.RegistryCA)
	if err != nil {
		return "", &config.KeyError{Key: "registry-ca", Reason: err.Error()}
	}
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return "", &config.KeyError{Key: "registry-ca", Reason: "no CA certificate in " + cfg.RegistryCA}
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil && c.IsCA {
			return pki.Fingerprint(c), nil
		}
	}
}

// DevElsewherePerson holds a reserve card issued at another station
// (seedDevRegistry).
const DevElsewherePerson = "198509098581"

// seedDevRegistry makes a new embedded registry know the development
// station's test cards: the operator cards' holders are authorised
// administrators (AD-1) and the blank reserve cards are stock shipped to the
// station, so that a person can log in and issue on `make run` with the
// cards on the dev panel. The attestor card's holder is deliberately not an
// administrator (AT-1).
func seedDevRegistry(ctx context.Context, srv *registry.Server, stationID string) error {
	var reserve []string
	for _, p := range vcard.DevProfiles() {
		switch {
		case p.HSAID == "":
			reserve = append(reserve, p.Serial)
		case strings.HasPrefix(p.CommonName, "Test Operatör"):
			if err := srv.SetOperator(ctx, p.HSAID, p.CommonName, true); err != nil {
				return err
			}
		}
	}
	// A person the station holds nothing about: their reserve card was
	// issued at another station, so the registry sends their facts to that
	// station only. Looking them up at the counter asks the registry on
	// demand (issue 12 item 5) and refuses by RC-4.
	if err := srv.SetPersonFactsDoc(ctx, DevElsewherePerson, protocol.PersonFactsDoc{
		RegularCards: []protocol.RegularCardFact{{Serial: "9752269000000000858", State: "active"}},
		ReserveCards: []protocol.ReserveCardFact{{Serial: "9752269900000000858", Reason: "forgotten", Station: "ST-ANNAN",
			ValidUntil: time.Now().AddDate(0, 0, 7).UTC().Format(time.RFC3339)}},
	}); err != nil {
		return err
	}
	if len(reserve) == 0 {
		return nil
	}
	return srv.Ship(ctx, stationID, "DEV-SHIP-1", "reserve", reserve...)
}

// syncer is the station's side of the registry: the reconcile client on a
// schedule, and the control channel through which central admins reach it.
type syncer struct {
	emb    *registry.Embedded
	client *reconcile.Client
	sched  *schedule.Runner
	ctl    *control.Client
	done   chan struct{}
	// upd is the update agent on its own schedule; nil when updates are
	// off (no spool directory and no simulation).
	upd *updater
	st  *store.Store
}

// startSync starts syncing in the background. The station serves without
// it; sync failures show on the status screen and in the log.
func startSync(ctx context.Context, cfg config.Config, st *store.Store, clk clock.Clock, log *slog.Logger, ctr *counter.Counter) (*syncer, error) {
	base := log
	log = log.With("component", "sync")
	policy, err := freshnessPolicy(cfg)
	if err != nil {
		return nil, err
	}
	id, emb, err := registryIdentity(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s := &syncer{emb: emb, done: make(chan struct{}), st: st}
	s.client, err = reconcile.New(reconcile.Config{Identity: id, Version: update.RunningVersion(releaseFile, version.Version), Policy: policy}, st, clk, log, stationStatus(ctr, st, log, bootedSlot()))
	if err != nil {
		s.closeEmbedded()
		return nil, fmt.Errorf("sync client: %w", err)
	}
	s.sched, err = schedule.New(schedule.Config{Interval: cfg.SyncInterval}, func(ctx context.Context) error {
		err := s.client.Once(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("sync attempt failed", "err", err)
		}
		ctr.Changed(ctx)
		return err
	})
	if err != nil {
		s.closeEmbedded()
		return nil, err
	}
	s.upd, err = startUpdater(ctx, cfg, id, st, clk, base, ctr)
	if err != nil {
		s.closeEmbedded()
		return nil, err
	}
	s.ctl, err = control.New(control.Config{Identity: id}, control.Handlers{
		SyncNow: func(context.Context) error {
			if s.upd != nil {
				if err := s.upd.sched.SyncNow(); err != nil {
					log.Warn("update check after sync now", "err", err)
				}
			}
			return s.sched.SyncNow()
		},
		Lock:   func(ctx context.Context) error { return ctr.SetRemoteLock(ctx, true) },
		Unlock: func(ctx context.Context) error { return ctr.SetRemoteLock(ctx, false) },
	})
	if err != nil {
		s.closeEmbedded()
		return nil, err
	}
	if err := s.sched.Start(ctx); err != nil {
		s.closeEmbedded()
		return nil, err
	}
	go func() {
		defer close(s.done)
		if err := s.ctl.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("control channel ended", "err", err)
		}
	}()
	ctr.SetSync(s)
	ctr.SetPersonLookup(s.client) // on-demand look-ups of people from elsewhere (issue 12 item 5)
	if emb != nil {
		log.Info("embedded reference registry", "url", emb.URL, "admin", emb.AdminURL)
	}
	return s, nil
}

// SyncStatus is the sync part of the status screen.
type SyncStatus struct {
	LastAttempt time.Time        `json:"last_attempt,omitzero"`
	LastSuccess time.Time        `json:"last_success,omitzero"`
	LastError   string           `json:"last_error,omitempty"`
	Connected   bool             `json:"connected"`
	DataAges    map[string]int64 `json:"data_age_seconds"`
	Stale       []string         `json:"stale,omitempty"`
	AdminURL    string           `json:"admin_url,omitempty"`
	// Update is a downloaded update waiting for the night's quiet window
	// (or being installed): a quiet line on the status screen.
	Update *protocol.UpdateState `json:"update,omitempty"`
}

// SyncNow runs the one-attempt sync now (the status screen's "Synka nu").
func (s *syncer) SyncNow() error { return s.sched.SyncNow() }

// Status is the sync part of the status screen.
func (s *syncer) Status(ctx context.Context) any { return s.status(ctx) }

var _ counter.Sync = (*syncer)(nil)

func (s *syncer) status(ctx context.Context) SyncStatus {
	st, err := s.client.Status(ctx)
	out := SyncStatus{DataAges: map[string]int64{}, Connected: s.ctl.State().Connected}
	if err != nil {
		out.LastError = err.Error()
		return out
	}
	out.LastAttempt, out.LastSuccess, out.LastError = st.LastAttempt, st.LastSuccess, st.LastError
	for _, a := range st.Ages {
		if a.CompleteAt.IsZero() {
			out.DataAges[a.Kind] = -1
		} else {
			out.DataAges[a.Kind] = int64(a.Age.Seconds())
		}
	}
	for k := range st.Stale {
		out.Stale = append(out.Stale, k)
	}
	if s.emb != nil {
		out.AdminURL = s.emb.AdminURL
	}
	if u, err := update.ReadState(ctx, s.st); err == nil && u != nil && (u.State == protocol.UpdateDownloaded || u.State == protocol.UpdateInstalling) {
		out.Update = &protocol.UpdateState{State: u.State, Version: u.Version}
	}
	return out
}

// stationStatus is what the registry is told about the station beyond
// sync's own state.
func stationStatus(ctr *counter.Counter, st *store.Store, log *slog.Logger, slot string) reconcile.StatusFunc {
	return func(ctx context.Context) protocol.StationStatus {
		snap := ctr.StationSnapshot(ctx)
		hw := map[string]string{}
		for name, d := range snap.Hardware {
			hw[name] = d.State
		}
		out := protocol.StationStatus{
			Version:     snap.Station.Version,
			Drawer:      hw["drawer"],
			Hardware:    hw,
			Locked:      snap.RemoteLocked,
			ClockSource: snap.Clock.Source,
			Stock:       map[string]int{},
			Slot:        slot,
		}
		if u, err := update.ReadState(ctx, st); err != nil {
			log.Warn("status: update state", "err", err)
		} else {
			out.Update = u
		}
		if until, _, ok, err := ctr.IssuingUntil(ctx); err != nil {
			log.Warn("status: issuing limit", "err", err)
		} else if ok {
			out.IssuingUntil = until
		}
		// RC-7 alarms of the last 24 hours.
		n, err := st.AlarmsSince(ctx, time.Now().Add(-24*time.Hour))
		if err != nil {
			log.Warn("status: count alarms", "err", err)
		}
		out.Alarms = n
		counts, err := st.CardCounts(ctx)
		if err != nil {
			log.Warn("status: count stock", "err", err)
			return out
		}
		for t, byState := range counts {
			for state, n := range byState {
				out.Stock[string(t)+":"+string(state)] = n
			}
		}
		return out
	}
}

func (s *syncer) closeEmbedded() {
	if s.emb != nil {
		_ = s.emb.Close()
	}
}

// stop ends the schedule and the control channel (ctx must already be
// cancelled for the latter), then the embedded registry.
func (s *syncer) stop() error {
	err := s.sched.Stop()
	if s.upd != nil {
		err = errors.Join(err, s.upd.stop())
	}
	<-s.done
	s.client.Close()
	s.closeEmbedded()
	return err
}

// syncOnce is `kioskd sync --once`: one reconcile, the same function the
// schedule and the "sync now" button run.
func syncOnce(ctx context.Context, cfg config.Config, env Env, log *slog.Logger) error {
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.StorePath(), store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	id, emb, err := registryIdentity(ctx, cfg, log)
	if err != nil {
		return err
	}
	if emb != nil {
		defer emb.Close()
	}
	c, err := reconcile.New(reconcile.Config{Identity: id, Version: update.RunningVersion(releaseFile, version.Version)}, st, env.Clock, log, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Once(ctx); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	status, err := c.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "sync ok: outbox depth %d, last success %s\n", status.OutboxDepth, status.LastSuccess.Format(time.RFC3339))
	return nil
}

// enrolStation is `kioskd enrol`: exchange a one-time code for the
// station's certificate, pinning the registry CA by its fingerprint.
func enrolStation(ctx context.Context, cfg config.Config, env Env) error {
	if cfg.RegistryURL == "" || cfg.EnrolCode == "" {
		return errors.New("kioskd enrol needs registry-url, enrol-code (or enrol-code-file) and registry-ca-fingerprint (or a registry-ca file)")
	}
	fp, err := caFingerprint(cfg)
	if err != nil {
		return err
	}
	id, err := enrol.Enrol(ctx, cfg.RegistryURL, cfg.EnrolCode, fp, identityDir(cfg))
	if err != nil {
		return fmt.Errorf("enrol: %w", err)
	}
	fmt.Fprintf(env.Stdout, "enrolled as %s at %s; identity in %s\n", id.StationID, id.URL, identityDir(cfg))
	return nil
}

// freshnessPolicy is the staleness policy: the defaults with the kinds the
// configuration names overridden. An unknown kind is a configuration error.
func freshnessPolicy(cfg config.Config) (refdata.Policy, error) {
	p := refdata.DefaultPolicy()
	for kind, age := range cfg.MaxDataAge {
		if _, known := p[kind]; !known {
			return nil, &config.KeyError{Key: "max-data-age", Reason: fmt.Sprintf("unknown reference data kind %q (known: %s)", kind, strings.Join(protocol.RefKinds, ", "))}
		}
		p[kind] = age
	}
	return p, nil
}
