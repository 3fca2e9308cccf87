package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/counter"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/update"
	"github.com/kortstation/kortstation/kiosk/update/updatesim"
	"github.com/kortstation/kortstation/kiosk/update/window"
	"github.com/kortstation/kortstation/kiosk/version"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/rollout"
	"github.com/kortstation/kortstation/sync/client/schedule"
)

// cmdlinePath is where the booted slot is read from.
const cmdlinePath = "/proc/cmdline"

// releaseFile names the version in the booted slot on the image. The
// station reports that version (in Debian form without the file) to the
// registry, in its update checks and in its status, so that the registry
// compares it with its releases.
const releaseFile = "/etc/kortstation-release"

// raucConf exists on the A/B image only: without it no installer takes
// the spool (kortstation-update.path has it as its condition).
const raucConf = "/etc/rauc/system.conf"

// bootedSlot is the RAUC slot this station booted ("" off the image).
func bootedSlot() string { return update.BootedSlot(cmdlinePath) }

// updater is the update agent (docs/appliance.md, "Staged rollout") on
// its schedule.
type updater struct {
	agent  *update.Agent
	client *rollout.Client
	sched  *schedule.Runner
}

// startUpdater starts the update agent: the real installer (the spool
// root's kortstation-update.path watches) when update-spool is set, the
// simulated one on `make run`, none otherwise (nil, nil: updates off).
func startUpdater(ctx context.Context, cfg config.Config, id enrol.Identity, st *store.Store, clk clock.Clock, log *slog.Logger, ctr *counter.Counter) (*updater, error) {
	base := log
	log = log.With("component", "update")
	var inst update.Installer
	switch {
	case cfg.UpdateSpool != "" && !exists(raucConf):
		log.Warn("updates are off: update-spool is set, but this is not the A/B image (no " + raucConf + ")")
		return nil, nil
	case cfg.UpdateSpool != "":
		if err := os.MkdirAll(cfg.UpdateSpool, 0o755); err != nil {
			return nil, fmt.Errorf("update spool: %w", err)
		}
		inst = update.Spool{Dir: cfg.UpdateSpool}
	case cfg.Simulation:
		inst = &updatesim.Installer{Log: filepath.Join(cfg.DataDir, "update-sim.log"), OutcomeFile: filepath.Join(cfg.DataDir, "update-result")}
		log.Info("updates simulated: installs are recorded, not made", "log", filepath.Join(cfg.DataDir, "update-sim.log"))
	default:
		log.Warn("updates are off: no update-spool configured (the Debian package sets it)")
		return nil, nil
	}
	win, err := window.Parse(cfg.UpdateWindow, cfg.UpdateTimezone)
	if err != nil {
		return nil, &config.KeyError{Key: "update-window", Reason: err.Error()}
	}
	client, err := rollout.New(rollout.Config{Identity: id})
	if err != nil {
		return nil, err
	}
	agent, err := update.NewAgent(update.AgentConfig{
		Registry: client, Installer: inst, Counter: ctr, Store: st, Clock: clk, Log: base,
		StationID: cfg.StationID, Version: update.RunningVersion(releaseFile, version.Version), Slot: bootedSlot(),
		Dir: filepath.Join(cfg.DataDir, "update"), OutcomeFile: filepath.Join(cfg.DataDir, "update-result"),
		Window: win,
	})
	if err != nil {
		client.Close()
		return nil, err
	}
	u := &updater{agent: agent, client: client}
	u.sched, err = schedule.New(schedule.Config{Name: "update", Interval: cfg.UpdateCheckInterval, MaxBackoff: 6 * cfg.UpdateCheckInterval, Logger: base}, func(ctx context.Context) error {
		err := agent.Once(ctx)
		if err != nil && ctx.Err() == nil {
			log.Warn("update attempt failed", "err", err)
		}
		ctr.Changed(ctx)
		return err
	})
	if err != nil {
		client.Close()
		return nil, err
	}
	if err := u.sched.Start(ctx); err != nil {
		client.Close()
		return nil, err
	}
	log.Info("update agent running", "window", win.String(), "check_every", cfg.UpdateCheckInterval)
	return u, nil
}

func (u *updater) stop() error {
	err := u.sched.Stop()
	u.agent.Close()
	u.client.Close()
	return err
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
