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

// retain1 is one retention run: the personal data of records the registry
// archived more than retention ago is removed (store.RedactArchived), and
// the write-ahead log is folded into the database so no old frame keeps
// it. `kioskd retention --once` runs it from the command line.
func retain1(ctx context.Context, st *store.Store, clk clock.Clock, retention time.Duration, log *slog.Logger) error {
	now := clk.Now()
	var red store.Redaction
	err := st.Update(ctx, clk, func(t *store.Tx) error {
		var err error
		red, err = t.RedactArchived(ctx, now.Add(-retention), now)
		return err
	})
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	if red == (store.Redaction{}) {
		return nil
	}
	if err := st.Compact(ctx); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	log.Info("personal data removed after the registry archived it", "receipts", red.Receipts, "events", red.Events, "persons", red.Persons)
	return nil
}

// startRetention runs retain1 at start and every retentionInterval on the
// gocron schedule the sync uses, until ctx ends.
func startRetention(ctx context.Context, st *store.Store, clk clock.Clock, retention time.Duration, log *slog.Logger) (*schedule.Runner, error) {
	log = log.With("component", "retention")
	r, err := schedule.New(schedule.Config{Interval: retentionInterval, Logger: log, Name: "retention"}, func(ctx context.Context) error {
		return retain1(ctx, st, clk, retention, log)
	})
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
	return retain1(ctx, st, env.Clock, cfg.Retention, log)
}
