// Package app is kioskd: it turns arguments into a running station and back
// into an error. main only calls Run; tests drive Main in-process.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/kiosk/bus"
	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/counter"
	"github.com/kortstation/kortstation/kiosk/metrics"
	"github.com/kortstation/kortstation/kiosk/sdnotify"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/version"
	"github.com/kortstation/kortstation/kiosk/web"
	uistatic "github.com/kortstation/kortstation/ui-static"
)

// Env is what Main needs of the process.
type Env struct {
	Args   []string
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Ready, if set, is called with the listening address once the station
	// serves.
	Ready func(addr string)
	// Clock overrides the system clock (tests).
	Clock clock.Clock
}

// Run runs kioskd with the process's environment.
func Run(ctx context.Context, args []string) error {
	return Main(ctx, Env{Args: args, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
}

// Main runs kioskd with env.
func Main(ctx context.Context, env Env) error {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Clock == nil {
		env.Clock = clock.System{}
	}
	for _, a := range env.Args {
		if a == "--version" || a == "-version" {
			fmt.Fprintln(env.Stdout, "kioskd", version.String())
			return nil
		}
	}
	usageOut := env.Stderr
	for _, a := range env.Args {
		if a == "-h" || a == "-help" || a == "--help" {
			usageOut = env.Stdout
		}
	}
	cfg, rest, err := config.Load(env.Args, env.Getenv, usageOut)
	if err != nil {
		return err
	}
	cmd := "serve"
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	log := newLogger(cfg, env.Stderr)
	switch cmd {
	case "serve":
		return serve(ctx, cfg, env, log)
	case "version":
		fmt.Fprintln(env.Stdout, "kioskd", version.String())
		return nil
	case "config":
		return cfg.Print(env.Stdout)
	case "audit":
		if len(rest) != 1 || rest[0] != "verify" {
			return errors.New("usage: kioskd audit verify")
		}
		return auditVerify(ctx, cfg, env, log)
	case "selftest":
		return selftest(ctx, cfg, env, log)
	case "trust":
		return trustCmd(ctx, cfg, env, log, rest)
	case "health":
		return healthCmd(ctx, cfg, env, log, rest)
	case "sync":
		if len(rest) != 1 || (rest[0] != "--once" && rest[0] != "-once") {
			return errors.New("usage: kioskd sync --once")
		}
		return syncOnce(ctx, cfg, env, log)
	case "enrol":
		return enrolStation(ctx, cfg, env)
	case "retention":
		if len(rest) != 1 || (rest[0] != "--once" && rest[0] != "-once") {
			return errors.New("usage: kioskd retention --once")
		}
		return retentionOnce(ctx, cfg, env, log)
	default:
		return fmt.Errorf("unknown command %q (see kioskd --help)", cmd)
	}
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	format := cfg.LogFormat
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				format = "text"
			}
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func auditVerify(ctx context.Context, cfg config.Config, env Env, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.StorePath(), store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "audit chain intact: %d entries, head %s\n", res.Entries, res.Head)
	return nil
}

// selftest opens the store (running migrations), verifies the audit chain
// and reports; the arm64 build is checked with it under qemu.
func selftest(ctx context.Context, cfg config.Config, env Env, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.StorePath(), store.Options{Logger: log})
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	defer st.Close()
	if err := st.Ping(ctx); err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	res, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("selftest: %w", err)
	}
	fmt.Fprintf(env.Stdout, "selftest ok: kioskd %s, schema version %d, %d audit entries\n", version.String(), st.Version(), res.Entries)
	return nil
}

func serve(ctx context.Context, cfg config.Config, env Env, log *slog.Logger) error {
	started := time.Now()
	if err := cfg.ValidateServe(); err != nil {
		return err
	}
	var token string
	if cfg.UIAuth == config.UIAuthToken {
		var err error
		if token, err = uiToken(cfg.UITokenFile); err != nil {
			return err
		}
	} else {
		log.Warn("ui-auth=none: any local process can use the UI channel (development only)")
	}
	st, err := store.Open(ctx, cfg.StorePath(), store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Update(ctx, env.Clock, func(t *store.Tx) error {
		_, err := t.Audit(ctx, audit.Entry{Kind: "station.started", Actor: "station", Subject: cfg.StationID,
			Detail: map[string]any{"version": version.Version, "clock_source": env.Clock.Source()}})
		return err
	}); err != nil {
		return fmt.Errorf("record start: %w", err)
	}

	// A provisioned station's first start: enrol before anything needs
	// the SITHS roots that come with enrolment.
	notify := sdnotify.New(env.Getenv)
	if err := enrolFirst(ctx, cfg, notify, log); err != nil {
		return err
	}

	b := bus.New()
	reg := metrics.NewRegistry()
	registerStoreMetrics(reg, st, b)
	hw, err := openHardware(cfg, log)
	if err != nil {
		return err
	}
	defer hw.close()
	policy, err := freshnessPolicy(cfg)
	if err != nil {
		return err
	}
	if cfg.Simulation {
		seedDev(ctx, st, env.Clock, log)
	}
	var dev counter.DevPanel
	if cfg.Simulation {
		dev = hw.devPanel()
	}
	verifier, trustMaterial, err := cardTrust(ctx, cfg, st, hw, env.Clock, log)
	if err != nil {
		return err
	}
	ctr := counter.New(counter.Deps{
		Info:  counter.Info{ID: cfg.StationID, Name: cfg.StationName, Location: cfg.Location, Version: version.Version},
		Store: st, Bus: b, Clock: env.Clock, Log: log,
		Reader: hw.devices.Reader, Drawer: hw.devices.Drawer, Printer: hw.devices.Printer, Dev: dev,
		Trust: verifier, TrustMaterial: trustMaterial,
	}, counter.Options{IdleTimeout: cfg.IdleTimeout, Freshness: policy, Simulation: cfg.Simulation, RequireClock: cfg.RequireClock,
		MinFreeSpace: uint64(cfg.MinFreeMB) << 20})
	if err := ctr.Restore(ctx); err != nil {
		return err
	}
	// Whatever a crash or a power cut left in flight is settled before the
	// station serves: open sessions, receipts left printing.
	if _, err := ctr.Recover(ctx); err != nil {
		return err
	}
	devCtx, stopDevices := context.WithCancel(ctx)
	defer stopDevices()
	devDone := make(chan error, 1)
	go func() { devDone <- ctr.Run(devCtx) }()

	ws := web.New(web.Config{
		AllowedHosts: cfg.AllowedHosts, AllowedOrigins: cfg.AllowedOrigins,
		MaxMessage: cfg.WSMaxMessage, PingInterval: cfg.WSPing, Static: uistatic.FS(), Token: token,
	}, ctr, b, log, reg)
	srv := &http.Server{
		Handler:           ws.Handler(reg),
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("station serving", "addr", ln.Addr().String(), "version", version.Version,
		"startup_ms", time.Since(started).Milliseconds(), "store", st.Path(), "schema", st.Version())
	if env.Ready != nil {
		env.Ready(ln.Addr().String())
	}
	if err := notify.Send("READY=1\nSTATUS=serving"); err != nil {
		log.Warn("systemd notify", "err", err)
	}
	// Sync starts once the UI serves: the embedded registry's first start
	// (a CA, a seed) must not delay the screen.
	syn, err := startSync(devCtx, cfg, st, env.Clock, log, ctr)
	if err != nil && devCtx.Err() == nil {
		// The station still serves its status; issuing that depends on
		// fresh reference data will refuse with the data's age.
		log.Error("sync not running", "err", err)
	}
	ret, err := startRetention(devCtx, st, env.Clock, cfg.Retention, log)
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	wdCtx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	go notify.Watchdog(wdCtx, st.Ping, func(err error) { log.Error("watchdog withheld: store does not answer", "err", err) })

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("http server: %w", err)
	}
	log.Info("shutting down")
	stopWatchdog()
	_ = notify.Send("STOPPING=1")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	if err := ws.Shutdown(sctx, "station shutting down"); err != nil {
		errs = append(errs, err)
	}
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("http shutdown: %w", err))
	}
	stopDevices()
	if err := ret.Stop(); err != nil {
		errs = append(errs, fmt.Errorf("retention: %w", err))
	}
	if syn != nil {
		if err := syn.stop(); err != nil {
			errs = append(errs, fmt.Errorf("sync: %w", err))
		}
	}
	if err := <-devDone; err != nil {
		errs = append(errs, fmt.Errorf("devices: %w", err))
	}
	if err := st.Update(sctx, env.Clock, func(t *store.Tx) error {
		_, err := t.Audit(sctx, audit.Entry{Kind: "station.stopped", Actor: "station", Subject: cfg.StationID})
		return err
	}); err != nil {
		errs = append(errs, fmt.Errorf("record stop: %w", err))
	}
	if err := st.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close store: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.Info("stopped cleanly")
	return nil
}

func registerStoreMetrics(reg *metrics.Registry, st *store.Store, b *bus.Bus) {
	reg.Register("kiosk_outbox_depth", "Outbox events not yet acknowledged by the registry.", metrics.Gauge, metrics.Value(func() float64 {
		n, err := st.OutboxDepth(context.Background())
		if err != nil {
			return -1
		}
		return float64(n)
	}))
	reg.Register("kiosk_bus_events_total", "Events published on the station bus.", metrics.Counter, metrics.Value(func() float64 { return float64(b.Published()) }))
	reg.Register("kiosk_bus_dropped_subscribers_total", "Bus subscribers dropped for falling behind.", metrics.Counter, metrics.Value(func() float64 { return float64(b.DroppedTotal()) }))
	reg.Register("kiosk_store_schema_version", "Schema version of the station database.", metrics.Gauge, metrics.Value(func() float64 { return float64(st.Version()) }))
}
