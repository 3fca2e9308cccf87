package app

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/pki"
)

// devCRLDays is how long the development CA's CRL is valid: longer than
// any clock jump a test makes.
const devCRLDays = 30

// cardTrust builds what decides whose cards the station trusts: the SITHS
// roots, with the intermediates and CRLs the registry distributes (the
// store's reference data, which never adds a root). The roots are, in
// order: the configured trust-anchors file; in simulation, the development
// CA that issues the dev panel's cards (its CRL, revoking nothing, is added
// to the registry's material); else, with registry=remote, the roots the
// registry gave at enrolment (station/trust-anchors.pem, written only by
// enrolment). Without roots the station does not serve.
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
	case !cfg.Simulation && cfg.Registry == "remote":
		b, err := enrolledAnchors(cfg)
		if err != nil {
			return nil, nil, err
		}
		anchors = b
		log.Info("cards are trusted by the SITHS roots from enrolment", "file", enrol.TrustAnchorsFile(identityDir(cfg)))
	case cfg.Simulation && hw != nil && hw.devCards != nil:
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

// enrolledAnchors reads and checks the SITHS roots enrolment left in the
// station's identity directory: each a CA certificate, as at enrolment.
func enrolledAnchors(cfg config.Config) ([]byte, error) {
	path := enrol.TrustAnchorsFile(identityDir(cfg))
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &config.KeyError{Key: "trust-anchors", Reason: "not set, and the station has no SITHS roots from enrolment (" + path +
			"): enrol it with a one-time code (enrol-code; a station enrolled before roots came with enrolment needs a replacement code), or set trust-anchors"}
	}
	if err != nil {
		return nil, &config.KeyError{Key: "trust-anchors", Reason: "the SITHS roots from enrolment: " + err.Error()}
	}
	if _, err := pki.ParseTrustAnchors(b); err != nil {
		return nil, &config.KeyError{Key: "trust-anchors", Reason: "the SITHS roots from enrolment (" + path + "): " + err.Error()}
	}
	return b, nil
}
