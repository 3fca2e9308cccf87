package app

import (
	"context"
	"log/slog"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/devseed"
	"github.com/kortstation/kortstation/kiosk/store"
)

// seedDev fills an empty simulated station with made-up reference data so
// every flow can be tried on `make run` before the first sync.
func seedDev(ctx context.Context, st *store.Store, c clock.Clock, log *slog.Logger) {
	seeded, err := devseed.Seed(ctx, st, c)
	if err != nil {
		log.Error("dev reference data not seeded", "err", err)
		return
	}
	if seeded {
		if err := devseed.SeedHistory(ctx, st, c); err != nil {
			log.Error("dev history not seeded", "err", err)
		}
		log.Info("seeded made-up reference data for the development station")
	}
}
