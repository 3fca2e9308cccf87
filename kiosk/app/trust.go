package app

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
)

// devCRLDays is how long the development CA's CRL is valid: longer than
// any clock jump a test makes.
const devCRLDays = 30

// cardTrust builds what decides whose cards the station trusts: the
// configured SITHS roots (trust-anchors), with the intermediates and CRLs
// the registry distributes (the store's reference data). In simulation
// without configured roots, the development CA that issues the dev panel's
// cards is the root, and its CRL (revoking nothing) is added to the
// registry's material.
func cardTrust(ctx context.Context, cfg config.Config, st *store.Store, hw *hardware, clk clock.Clock, log *slog.Logger) (*trust.Verifier, func(context.Context) (trust.Material, error), error) {
	var anchors []byte
	var extra []*x509.RevocationList
	switch {
	case cfg.TrustAnchors != "":
		b, err := os.ReadFile(cfg.TrustAnchors)
		if err != nil {
			return nil, nil, &config.KeyError{Key: "trust-anchors", Reason: err.Error()}
		}
		anchors = b
	case cfg.Simulation && hw.devCards != nil:
		anchors = hw.devCards.ca.CertificatePEM()
		now := clk.Now()
		der, err := hw.devCards.ca.CRL(now.Unix(), now.Add(-time.Hour), now.AddDate(0, 0, devCRLDays))
		if err != nil {
			return nil, nil, err
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return nil, nil, fmt.Errorf("development CRL: %w", err)
		}
		extra = append(extra, crl)
		log.Info("cards are trusted by the development CA (simulation)")
	default:
		return nil, nil, &config.KeyError{Key: "trust-anchors", Reason: "not set: the station needs the SITHS roots its cards must chain to"}
	}
	material := func(ctx context.Context) (trust.Material, error) {
		m, err := st.TrustMaterial(ctx)
		if err != nil {
			return m, err
		}
		m.CRLs = append(m.CRLs, extra...)
		return m, nil
	}
	m, err := material(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("trust material: %w", err)
	}
	v, err := trust.New(anchors, m, clk, trust.Options{CRLGrace: cfg.CRLGrace, AllowUnsyncedClock: !cfg.RequireClock})
	if err != nil {
		return nil, nil, &config.KeyError{Key: "trust-anchors", Reason: err.Error()}
	}
	for _, e := range v.Refused() {
		log.Warn("trust material not used", "err", e)
	}
	return v, material, nil
}
