package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/kortstation/kortstation/kiosk/config"
	"github.com/kortstation/kortstation/kiosk/sdnotify"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/trust"
	"github.com/kortstation/kortstation/sync/client/enrol"
)

// Retry of the first enrolment: from enrolRetryMin, doubling, at most
// enrolRetryMax between attempts.
const (
	enrolRetryMin = 2 * time.Second
	enrolRetryMax = 5 * time.Minute
)

// enrolFirst is the first start of a provisioned station: its SITHS roots
// come with enrolment, so it enrols before card trust is built, and keeps
// trying (saying why in the log and to systemd) until it has enrolled or
// is stopped. It never lets the station serve without roots. It does
// nothing when roots are configured (trust-anchors), in simulation, with
// the embedded registry, when the enrolled roots are already there, or
// when there is nothing to enrol with (cardTrust then says what is
// missing).
func enrolFirst(ctx context.Context, cfg config.Config, notify *sdnotify.Notifier, log *slog.Logger) error {
	if cfg.Registry != "remote" || cfg.TrustAnchors != "" || cfg.Simulation {
		return nil
	}
	dir := identityDir(cfg)
	if _, err := os.Stat(enrol.TrustAnchorsFile(dir)); err == nil {
		return nil
	}
	if cfg.EnrolCode == "" || cfg.StationCert != "" || cfg.StationKey != "" {
		return nil
	}
	if enrol.InDir(dir, cfg.StationID, cfg.RegistryURL).Validate(time.Now()) == nil {
		// Enrolled before roots came with enrolment: the code is spent,
		// only a replacement code brings the roots (cardTrust says so).
		return nil
	}
	wait := enrolRetryMin
	for {
		log.Info("not enrolled yet: enrolling with the provisioned code before card trust is built (the SITHS roots come with it)", "registry", cfg.RegistryURL)
		err := enrolStation(ctx, cfg, Env{Stdout: io.Discard})
		if err == nil {
			log.Info("enrolled: the station's certificate and SITHS roots are in place", "dir", dir)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Error("enrolment failed: the station does not serve until it is enrolled and has its SITHS roots; retrying",
			"err", err, "retry_in", wait.String())
		// The unit's start timeout is extended while it waits; the reason
		// shows in `systemctl status kioskd`.
		_ = notify.Send(fmt.Sprintf("STATUS=not enrolled, retrying in %s: %v\nEXTEND_TIMEOUT_USEC=%d\nWATCHDOG=1",
			wait, err, (wait + time.Minute).Microseconds()))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, enrolRetryMax)
	}
}

// trustCmd is `kioskd trust verify CERT.pem`: it builds card trust exactly
// as serving does (roots by cardTrust, intermediates and CRLs from the
// store's reference data) and checks a card certificate (PEM, the card's
// own first, then any intermediates it carries) against it. It prints
// whether the certificate is trusted and, if not, the reason; never who
// the certificate is for.
func trustCmd(ctx context.Context, cfg config.Config, env Env, log *slog.Logger, args []string) error {
	if len(args) != 2 || args[0] != "verify" {
		return errors.New("usage: kioskd trust verify CERT.pem")
	}
	b, err := os.ReadFile(args[1])
	if err != nil {
		return fmt.Errorf("trust verify: %w", err)
	}
	certs, err := trust.ParseCertificatesPEM(b)
	if err != nil || len(certs) == 0 {
		return fmt.Errorf("trust verify: %s holds no certificate: %w", args[1], err)
	}
	st, err := store.Open(ctx, cfg.StorePath(), store.Options{Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	var hw *hardware
	if cfg.Simulation {
		// The development CA is made per start; it trusts no card on file.
		hw = &hardware{}
	}
	v, _, err := cardTrust(ctx, cfg, st, hw, env.Clock, log)
	if err != nil {
		return err
	}
	if _, err := v.VerifyCertificate(certs[0], certs[1:]); err != nil {
		return fmt.Errorf("card certificate not trusted: %w", err)
	}
	fmt.Fprintln(env.Stdout, "card certificate trusted: it chains to a SITHS root and is valid and not revoked")
	return nil
}
