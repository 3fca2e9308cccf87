package app

import (
	"context"

	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/flow"
	"github.com/kortstation/kortstation/kiosk/flow/devseed"
	"github.com/kortstation/kortstation/kiosk/station"
)

// attachFlows puts the counter (operator session and every flow) on stn;
// serve calls it right after station.New for every station.
func attachFlows(stn *station.Station, cfg config.Config) error {
	policy, err := freshnessPolicy(cfg)
	if err != nil {
		return err
	}
	flow.Attach(stn, flow.Options{IdleTimeout: cfg.IdleTimeout, Freshness: policy})
	return nil
}

// seedDev fills an empty simulated station with made-up reference data so
// every flow can be tried on `make run` before the first sync.
func seedDev(ctx context.Context, stn *station.Station) {
	seeded, err := devseed.Seed(ctx, stn.Store(), stn.Clock())
	if err != nil {
		stn.Logger().Error("dev reference data not seeded", "err", err)
		return
	}
	if seeded {
		stn.Logger().Info("seeded made-up reference data for the development station")
	}
}
