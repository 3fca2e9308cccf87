package app

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/update"
)

// metaSyncSuccess is the station_meta key the sync client (reconcile)
// sets after each successful sync with the registry.
const metaSyncSuccess = "sync.last_success"

// healthCmd is `kioskd health`: after a boot, is this station healthy
// enough to keep the software it booted? kioskd serves (it has sent
// READY=1: /healthz answers), the store opens and answers, the audit chain
// verifies, and the registry answered a sync since the boot — or, offline,
// the bounded wait for it passed. kortstation-health.service runs it and
// marks the RAUC slot good or bad (docs/appliance.md, the rollback rules).
// It also writes an update's outcome, left by kortstation-health, into the
// audit log.
func healthCmd(ctx context.Context, cfg config.Config, env Env, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("kioskd health", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	readyWait := fs.Duration("ready-wait", 2*time.Minute, "how long kioskd may take to serve")
	registryWait := fs.Duration("registry-wait", 10*time.Minute, "how long to wait for a successful sync; after it an offline station passes")
	poll := fs.Duration("poll", 2*time.Second, "interval between attempts of a waiting check")
	since := fs.String("synced-since", "", "RFC 3339 time a sync must be newer than (default: the boot time)")
	outcomeFile := fs.String("update-result", filepath.Join(cfg.DataDir, "update-result"), "update outcome left by kortstation-health, recorded in the audit log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	after, err := syncedSince(*since)
	if err != nil {
		return err
	}

	var st *store.Store
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	checks := []update.Check{
		{Name: "kioskd ready", Wait: *readyWait, Run: func(ctx context.Context) error { return uiReady(ctx, cfg) }},
		{Name: "store opens", Wait: *readyWait, Run: func(ctx context.Context) error {
			if st == nil {
				s, err := store.Open(ctx, cfg.StorePath(), store.Options{Logger: log})
				if err != nil {
					return err
				}
				st = s
			}
			return st.Ping(ctx)
		}},
		{Name: "audit chain verifies", Run: func(ctx context.Context) error {
			_, err := st.VerifyAudit(ctx)
			return err
		}},
		{Name: "registry answers", Wait: *registryWait, Waivable: true, Run: func(ctx context.Context) error {
			return syncedAfter(ctx, st, after)
		}},
	}
	rep := update.Run(ctx, *poll, checks)
	rep.Print(env.Stdout)
	if st != nil {
		printSchemaCompat(env, st)
		if err := recordOutcome(ctx, st, env, cfg, *outcomeFile); err != nil {
			log.Error("update outcome not recorded", "err", err)
		}
	}
	return rep.Err()
}

// printSchemaCompat says whether the software before this one (a
// rollback's target) can open the store. The store refuses a migration
// that would lock it out (store.ErrRollbackUnsafe, so kioskd does not
// start and the trial fails before anything was migrated); this line
// makes the state visible in the health output. It is not a check: once
// migrated, rolling back would not help.
func printSchemaCompat(env Env, st *store.Store) {
	opens, knows := st.PreviousSoftware()
	switch {
	case knows == 0:
		fmt.Fprintf(env.Stdout, "store schema %d (floor %d); no other software has used this store\n", st.Version(), st.Floor())
	case opens:
		fmt.Fprintf(env.Stdout, "store schema %d (floor %d); the software before this one knows schema up to %d and can open it after a rollback\n", st.Version(), st.Floor(), knows)
	default:
		fmt.Fprintf(env.Stdout, "store schema %d (floor %d); the software before this one knows schema up to %d and could NOT open it after a rollback\n", st.Version(), st.Floor(), knows)
	}
}

// uiReady asks kioskd's /healthz, as the kiosk browser would reach it.
func uiReady(ctx context.Context, cfg config.Config) error {
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", cfg.Listen, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/healthz", nil)
	if err != nil {
		return err
	}
	if len(cfg.AllowedHosts) > 0 {
		req.Host = cfg.AllowedHosts[0]
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("kioskd does not answer: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kioskd /healthz: %s", resp.Status)
	}
	return nil
}

// syncedAfter is nil once a sync succeeded after t.
func syncedAfter(ctx context.Context, st *store.Store, t time.Time) error {
	v, err := st.Meta(ctx, metaSyncSuccess)
	if errors.Is(err, store.ErrNotFound) || v == "" {
		return errors.New("no successful sync yet")
	}
	if err != nil {
		return err
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return fmt.Errorf("last sync time %q: %w", v, err)
	}
	if !at.After(t) {
		return fmt.Errorf("no successful sync since %s (last %s)", t.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return nil
}

// syncedSince parses -synced-since; empty is the kernel's boot time.
func syncedSince(s string) (time.Time, error) {
	if s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("-synced-since: %w", err)
		}
		return t, nil
	}
	return bootTime()
}

// bootTime is /proc/stat's btime: the boot as the clock has it now, so a
// clock set by NTP after the boot moves it along.
func bootTime() (time.Time, error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return time.Time{}, fmt.Errorf("boot time: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("boot time %q: %w", v, err)
			}
			return time.Unix(n, 0), nil
		}
	}
	return time.Time{}, errors.New("boot time: no btime in /proc/stat")
}

// recordOutcome records the update outcome kortstation-health left: in
// the audit log and as an update_result event for the registry, once
// (kioskd serving may have recorded it first); the file is removed after.
func recordOutcome(ctx context.Context, st *store.Store, env Env, cfg config.Config, path string) error {
	_, handed := update.Handed(ctx, st)
	o, ok, err := update.RecordOutcome(ctx, st, env.Clock, cfg.StationID, path, handed)
	if err != nil || !ok {
		return err
	}
	fmt.Fprintf(env.Stdout, "update outcome recorded: %s slot %s (%s)\n", o.Result, o.Slot, o.Reason)
	return nil
}
