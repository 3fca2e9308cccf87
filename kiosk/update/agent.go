package update

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/kiosk/update/window"
	"github.com/kortstation/kortstation/sync/client/rollout"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Registry is what the agent needs of the registry (rollout.Client).
type Registry interface {
	Check(ctx context.Context, version, slot string) (*protocol.UpdateOffer, error)
	Download(ctx context.Context, offer protocol.UpdateOffer, path string) error
}

var _ Registry = (*rollout.Client)(nil)

// Installer takes a verified bundle. The real one (Spool) moves it into
// the spool directory that root's kortstation-update.path watches; the
// simulated one (updatesim) records what it would do. Install owns the
// file at path from then on. Reboots reports whether the station is about
// to reboot into the new slot (the agent then keeps the counter closed to
// new sessions until it does).
type Installer interface {
	Install(ctx context.Context, path string, offer protocol.UpdateOffer) error
	Reboots() bool
}

// Counter is what the agent needs of the counter: to close it to new
// sessions for the install, only when nobody is at it (no session, no
// login, no flow, the drawer closed). Hold fails with the reason when the
// counter is not quiet.
type Counter interface {
	HoldForUpdate(version string) (release func(), err error)
}

// AgentConfig configures an Agent.
type AgentConfig struct {
	Registry  Registry
	Installer Installer
	Counter   Counter
	Store     *store.Store
	Clock     clock.Clock
	Log       *slog.Logger
	StationID string
	Version   string // the running software's version
	Slot      string // the booted RAUC slot ("" off the image)
	// Dir holds the downloads (<data-dir>/update).
	Dir string
	// OutcomeFile is where kortstation-health and the installer leave an
	// outcome (<data-dir>/update-result).
	OutcomeFile string
	// Window is the local time span installs are allowed in.
	Window window.Window
	// HoldTimeout: an install that has not rebooted the station after this
	// long is given up and the counter opened again; default 30 min.
	HoldTimeout time.Duration
	// RetryRefused: a download refused for its bytes is not tried again
	// for this long; default 6 h.
	RetryRefused time.Duration
}

// Kinds whose unsynced events keep an update from installing: the records
// of cards handed out, taken back and signed for.
var recordKinds = []string{protocol.KindIssuance, protocol.KindExtension, protocol.KindReturn, protocol.KindReceipt, protocol.KindBlockRequest}

// Agent checks for updates, downloads them and installs them in a quiet
// window. Once is one attempt; the schedule calls it.
type Agent struct {
	cfg AgentConfig
	log *slog.Logger

	mu      sync.Mutex
	release func()
	heldAt  time.Time
}

// Keys in station_meta.
const (
	metaHanded  = "update.handed"  // "<sha256> <version>" of the bundle handed to the installer
	metaRefused = "update.refused" // "<sha256> <RFC 3339 time>" of a download refused for its bytes
)

// NewAgent makes an agent.
func NewAgent(cfg AgentConfig) (*Agent, error) {
	if cfg.Registry == nil || cfg.Installer == nil || cfg.Counter == nil || cfg.Store == nil || cfg.Clock == nil {
		return nil, errors.New("update: agent needs a registry, an installer, the counter, the store and a clock")
	}
	if cfg.Dir == "" || cfg.OutcomeFile == "" || cfg.Window.Loc == nil {
		return nil, errors.New("update: agent needs a download directory, an outcome file and a window")
	}
	if cfg.HoldTimeout <= 0 {
		cfg.HoldTimeout = 30 * time.Minute
	}
	if cfg.RetryRefused <= 0 {
		cfg.RetryRefused = 6 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("update: %w", err)
	}
	return &Agent{cfg: cfg, log: cfg.Log.With("component", "update")}, nil
}

// Close opens the counter again if the agent holds it.
func (a *Agent) Close() { a.releaseHold() }

func (a *Agent) releaseHold() {
	a.mu.Lock()
	r := a.release
	a.release = nil
	a.mu.Unlock()
	if r != nil {
		r()
	}
}

// Once is one attempt: record an outcome left by the installer or the
// health check, ask the registry, download what it offers, and install it
// if the station is quiet.
func (a *Agent) Once(ctx context.Context) error {
	handedSHA, handedVersion := a.handed(ctx)
	a.recordOutcome(ctx, handedVersion)
	a.mu.Lock()
	held := a.release != nil && a.cfg.Clock.Now().Sub(a.heldAt) > a.cfg.HoldTimeout
	a.mu.Unlock()
	if held {
		a.releaseHold()
		a.log.Error("the installer did not reboot the station; the counter is open again", "version", handedVersion, "after", a.cfg.HoldTimeout)
		if err := RecordError(ctx, a.cfg.Store, a.cfg.Clock, a.cfg.StationID, protocol.UpdateInstallError, handedVersion, "the installer did not restart the station within "+a.cfg.HoldTimeout.String()); err != nil {
			return err
		}
	}

	offer, err := a.cfg.Registry.Check(ctx, a.cfg.Version, a.cfg.Slot)
	if err != nil {
		return err
	}
	if offer == nil || offer.Version == a.cfg.Version {
		a.tidy("")
		return nil
	}
	if offer.SHA256 == handedSHA {
		return nil // handed over already: its outcome comes from the installer or the next boot
	}
	if a.refusedRecently(ctx, offer.SHA256) {
		return nil
	}
	name := "kortstation-" + offer.Version + ".raucb"
	path := filepath.Join(a.cfg.Dir, name)
	a.tidy(name)
	if _, err := os.Stat(path); err != nil {
		if err := a.setState(ctx, protocol.UpdateState{State: protocol.UpdateDownloading, Version: offer.Version}); err != nil {
			return err
		}
		a.log.Info("downloading update", "version", offer.Version, "size", offer.Size, "group", offer.Group)
	}
	if err := a.cfg.Registry.Download(ctx, *offer, path); err != nil {
		var de *rollout.DownloadError
		if errors.As(err, &de) {
			a.log.Error("update bundle refused", "version", offer.Version, "err", err)
			a.setMeta(ctx, metaRefused, offer.SHA256+" "+a.cfg.Clock.Now().UTC().Format(time.RFC3339))
			return RecordError(ctx, a.cfg.Store, a.cfg.Clock, a.cfg.StationID, protocol.UpdateDownloadError, offer.Version, de.Reason)
		}
		return err
	}
	if st, _ := ReadState(ctx, a.cfg.Store); st == nil || st.State != protocol.UpdateDownloaded || st.Version != offer.Version {
		a.log.Info("update downloaded and its SHA-256 checked; waiting for a quiet window", "version", offer.Version, "window", a.cfg.Window.String())
		if err := a.setState(ctx, protocol.UpdateState{State: protocol.UpdateDownloaded, Version: offer.Version}); err != nil {
			return err
		}
	}
	if why := a.notQuiet(ctx); why != "" {
		a.log.Debug("update waits", "version", offer.Version, "why", why)
		return nil
	}
	return a.install(ctx, *offer, path)
}

// recordOutcome records an outcome left by the installer or the health
// check, once, and opens the counter again.
func (a *Agent) recordOutcome(ctx context.Context, handedVersion string) {
	if o, ok, err := RecordOutcome(ctx, a.cfg.Store, a.cfg.Clock, a.cfg.StationID, a.cfg.OutcomeFile, handedVersion); err != nil {
		a.log.Error("update outcome not recorded", "err", err)
	} else if ok {
		a.log.Info("update outcome recorded", "result", o.Result, "version", o.Version, "slot", o.Slot, "reason", o.Reason)
		a.releaseHold()
	}
}

// notQuiet is why an install must wait now, or "".
func (a *Agent) notQuiet(ctx context.Context) string {
	if !a.cfg.Window.Contains(a.cfg.Clock.Now()) {
		return "outside the install window " + a.cfg.Window.String()
	}
	n, err := a.cfg.Store.PendingOfKinds(ctx, recordKinds...)
	if err != nil {
		return err.Error()
	}
	if n > 0 {
		return fmt.Sprintf("%d records of issuances not yet at the registry", n)
	}
	return ""
}

// install holds the counter, checks the bundle once more and hands it to
// the installer.
func (a *Agent) install(ctx context.Context, offer protocol.UpdateOffer, path string) error {
	release, err := a.cfg.Counter.HoldForUpdate(offer.Version)
	if err != nil {
		a.log.Debug("update waits", "version", offer.Version, "why", err)
		return nil
	}
	// Once more under the hold: a session that ended between the first
	// look and the hold may have left a record not yet at the registry;
	// no new one can come now.
	if why := a.notQuiet(ctx); why != "" {
		release()
		a.log.Debug("update waits", "version", offer.Version, "why", why)
		return nil
	}
	// The file lay in the data directory since its download: checked
	// again before it is handed over.
	if sum, err := rollout.FileSHA256(path); err != nil || sum != offer.SHA256 {
		release()
		_ = os.Remove(path)
		reason := "the downloaded bundle changed on disk before its install"
		if err != nil {
			reason = err.Error()
		}
		return RecordError(ctx, a.cfg.Store, a.cfg.Clock, a.cfg.StationID, protocol.UpdateDownloadError, offer.Version, reason)
	}
	a.setMeta(ctx, metaHanded, offer.SHA256+" "+offer.Version)
	if err := a.setState(ctx, protocol.UpdateState{State: protocol.UpdateInstalling, Version: offer.Version}); err != nil {
		release()
		return err
	}
	a.log.Info("handing the update to the installer", "version", offer.Version)
	if err := a.cfg.Installer.Install(ctx, path, offer); err != nil {
		release()
		a.log.Error("update not handed to the installer", "version", offer.Version, "err", err)
		return RecordError(ctx, a.cfg.Store, a.cfg.Clock, a.cfg.StationID, protocol.UpdateInstallError, offer.Version, err.Error())
	}
	if !a.cfg.Installer.Reboots() {
		release()
		a.recordOutcome(ctx, offer.Version) // a simulated install may leave one at once
		return nil
	}
	a.mu.Lock()
	a.release, a.heldAt = release, a.cfg.Clock.Now()
	a.mu.Unlock()
	return nil
}

// tidy removes downloads other than keep (and its partial file).
func (a *Agent) tidy(keep string) {
	ents, err := os.ReadDir(a.cfg.Dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if keep != "" && (e.Name() == keep || e.Name() == keep+rollout.PartSuffix) {
			continue
		}
		_ = os.Remove(filepath.Join(a.cfg.Dir, e.Name()))
	}
}

func (a *Agent) handed(ctx context.Context) (sha, version string) { return Handed(ctx, a.cfg.Store) }

// Handed is the SHA-256 and version of the bundle last handed to the
// installer ("" when none): an installer's refusal names no version, so
// whoever records it names this one.
func Handed(ctx context.Context, st *store.Store) (sha, version string) {
	v, _ := st.Meta(ctx, metaHanded)
	sha, version, _ = strings.Cut(v, " ")
	return sha, version
}

func (a *Agent) refusedRecently(ctx context.Context, sha string) bool {
	v, _ := a.cfg.Store.Meta(ctx, metaRefused)
	s, at, _ := strings.Cut(v, " ")
	t, err := time.Parse(time.RFC3339, at)
	return s == sha && err == nil && a.cfg.Clock.Now().Sub(t) < a.cfg.RetryRefused
}

func (a *Agent) setMeta(ctx context.Context, key, value string) {
	if err := a.cfg.Store.Update(ctx, a.cfg.Clock, func(t *store.Tx) error { return t.SetMeta(ctx, key, value) }); err != nil {
		a.log.Error("update: store state", "key", key, "err", err)
	}
}

func (a *Agent) setState(ctx context.Context, s protocol.UpdateState) error {
	s.At = now(a.cfg.Clock)
	if err := a.cfg.Store.Update(ctx, a.cfg.Clock, func(t *store.Tx) error { return SetState(ctx, t, s) }); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}
