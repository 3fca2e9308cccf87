package app

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/schedule"
)

// retentionInterval is how often the retention job runs (and once at
// start).
const retentionInterval = time.Hour

// retainer runs retention: the personal data of records the registry
// archived more than retention ago is removed (store.RedactArchived), and
// the write-ahead log is folded into the database so no old frame keeps
// it — again at the next run if a reader kept the checkpoint from
// finishing.
type retainer struct {
	st        *store.Store
	clk       clock.Clock
	retention time.Duration
	log       *slog.Logger
	compact   bool // removed data may still be in the WAL
}

// once is one retention run; the schedule calls it every
// retentionInterval and `kioskd retention --once` once.
func (r *retainer) once(ctx context.Context) error {
	now := r.clk.Now()
	var red store.Redaction
	err := r.st.Update(ctx, r.clk, func(t *store.Tx) error {
		var err error
		red, err = t.RedactArchived(ctx, now.Add(-r.retention), now)
		return err
	})
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	if red != (store.Redaction{}) {
		r.compact = true
		r.log.Info("personal data removed after the registry archived it", "receipts", red.Receipts, "events", red.Events, "persons", red.Persons)
	}
	if !r.compact {
		return nil
	}
	if err := r.st.Compact(ctx); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	r.compact = false
	return nil
}

// startRetention runs retention at start and every retentionInterval on
// the gocron schedule the sync uses, until ctx ends.
func startRetention(ctx context.Context, st *store.Store, clk clock.Clock, retention time.Duration, log *slog.Logger) (*schedule.Runner, error) {
	ret := &retainer{st: st, clk: clk, retention: retention, log: log.With("component", "retention")}
	r, err := schedule.New(schedule.Config{Interval: retentionInterval, Logger: ret.log, Name: "retention"}, ret.once)
	if err != nil {
		return nil, err
	}
	if err := r.Start(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

func retentionOnce(ctx context.Context, cfg config.Config, env Env, log *slog.Logger) error {
	st, err := store.Open(ctx, cfg.StorePath(), store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	return (&retainer{st: st, clk: env.Clock, retention: cfg.Retention, log: log}).once(ctx)
}
