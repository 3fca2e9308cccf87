// Package reconcile is the station's sync client: one attempt (Once) pushes
// the outbox to the registry in batches and marks what the registry
// acknowledged, then pulls every kind of reference data with its cursor,
// applying each answer and its cursors in one transaction. The scheduler,
// `kioskd sync --once` and the "sync now" button all call Once.
//
// Nothing is lost: an event stays in the outbox until the registry has
// acknowledged it. Nothing is doubled: the registry stores by (station,
// event ID) and (station, seq), so a resent event is acknowledged as a
// duplicate.
package reconcile

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/store"
	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/refdata"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Config configures a Client.
type Config struct {
	// Identity is the station's identity (URL, station ID, pinned CA,
	// certificate and key files).
	Identity enrol.Identity
	// TLS overrides the TLS configuration built from Identity.
	TLS *tls.Config
	// BatchSize is the number of events per push; default 500.
	BatchSize int
	// PageLimit is the most items per kind per pull; default 1000.
	PageLimit int
	// RequestTimeout bounds one HTTP exchange; default 60 s.
	RequestTimeout time.Duration
	// Policy is the staleness policy reported in Status; default
	// refdata.DefaultPolicy().
	Policy refdata.Policy
	// Version is the station software version reported to the registry.
	Version string
	// DialContext overrides how connections are opened (tests, benchmarks).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// StatusFunc reports the parts of the station's status that sync does not
// know (drawer, alarms, stock, hardware, lock state); it may be nil.
type StatusFunc func(ctx context.Context) protocol.StationStatus

// Client syncs one station with the registry.
type Client struct {
	cfg    Config
	st     *store.Store
	clk    clock.Clock
	log    *slog.Logger
	status StatusFunc
	key    crypto.Signer // the station key: signs audit checkpoints
	hc     *http.Client
	once   sync.Mutex // one attempt at a time in this process
}

// New makes a client. It loads the identity's TLS files unless cfg.TLS is
// set.
func New(cfg Config, st *store.Store, clk clock.Clock, log *slog.Logger, status StatusFunc) (*Client, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.BatchSize > 5000 {
		cfg.BatchSize = 5000
	}
	if cfg.PageLimit <= 0 {
		cfg.PageLimit = 1000
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 60 * time.Second
	}
	if cfg.Policy == nil {
		cfg.Policy = refdata.DefaultPolicy()
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.Identity.StationID == "" || cfg.Identity.URL == "" {
		return nil, errors.New("reconcile: config needs Identity.StationID and Identity.URL")
	}
	tc := cfg.TLS
	if tc == nil {
		var err error
		if tc, err = cfg.Identity.TLSConfig(); err != nil {
			return nil, fmt.Errorf("reconcile: %w", err)
		}
	}
	var key crypto.Signer
	if len(tc.Certificates) > 0 {
		key, _ = tc.Certificates[0].PrivateKey.(crypto.Signer)
	}
	if key == nil {
		return nil, errors.New("reconcile: the TLS configuration has no station certificate and key (they sign the audit checkpoints)")
	}
	return &Client{
		cfg: cfg, st: st, clk: clk, status: status, key: key,
		log: log.With("component", "reconcile"),
		hc:  NewHTTPClient(tc, cfg.RequestTimeout, cfg.DialContext),
	}, nil
}

// NewHTTPClient is the HTTP client the station uses towards the registry:
// the given TLS configuration, HTTP/2 when offered, no transparent
// decompression (the protocol handles gzip itself).
func NewHTTPClient(tc *tls.Config, timeout time.Duration, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Client {
	if dial == nil {
		dial = (&net.Dialer{Timeout: 15 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			TLSClientConfig:       tc.Clone(),
			DialContext:           dial,
			ForceAttemptHTTP2:     true,
			DisableCompression:    true,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: timeout,
			IdleConnTimeout:       90 * time.Second,
			MaxIdleConnsPerHost:   2,
		},
	}
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// Keys in station_meta.
const (
	metaLastAttempt     = "sync.last_attempt"
	metaLastSuccess     = "sync.last_success"
	metaLastError       = "sync.last_error"
	metaAuditCheckpoint = "sync.audit_checkpoint_seq"
)

// Once is one sync attempt: checkpoint the audit chain, push, pull. It
// records the outcome for Status. Concurrent calls in one process wait for
// each other.
func (c *Client) Once(ctx context.Context) error {
	c.once.Lock()
	defer c.once.Unlock()
	started := c.clk.Now()
	err := c.once1(ctx)
	errText := ""
	if err != nil {
		errText = err.Error()
	}
	rerr := c.st.Update(context.WithoutCancel(ctx), c.clk, func(t *store.Tx) error {
		if err := t.SetMeta(ctx, metaLastAttempt, started.UTC().Format(time.RFC3339Nano)); err != nil {
			return err
		}
		if err == nil {
			if err := t.SetMeta(ctx, metaLastSuccess, c.clk.Now().UTC().Format(time.RFC3339Nano)); err != nil {
				return err
			}
		}
		return t.SetMeta(ctx, metaLastError, errText)
	})
	if rerr != nil {
		c.log.Error("record sync outcome", "err", rerr)
	}
	if err != nil {
		return err
	}
	return nil
}

func (c *Client) once1(ctx context.Context) error {
	if err := c.CheckpointAudit(ctx); err != nil {
		return err
	}
	pushed, perr := c.Push(ctx)
	if perr != nil {
		return perr
	}
	if err := c.Pull(ctx); err != nil {
		return err
	}
	if pushed > 0 {
		c.log.Info("sync done", "pushed", pushed)
	}
	return nil
}

// CheckpointAudit enqueues an audit.checkpoint event with the head of the
// audit chain when it moved since the last checkpoint, signed with the
// station key (the registry anchors only checkpoints that verify against
// the station's certificate).
func (c *Client) CheckpointAudit(ctx context.Context) error {
	sign := func(cp *protocol.AuditCheckpointPayload) error {
		return protocol.SignCheckpoint(cp, c.cfg.Identity.StationID, c.clk.Now(), c.key)
	}
	err := c.st.Update(ctx, c.clk, func(t *store.Tx) error { return t.RecordAuditCheckpoint(ctx, metaAuditCheckpoint, sign) })
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	return nil
}

// meta reads a station_meta value, "" when never set.
func (c *Client) meta(ctx context.Context, key string) (string, error) {
	v, err := c.st.Meta(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reconcile: %w", err)
	}
	return v, nil
}

// Status is the sync state for the status screen and the registry.
type Status struct {
	LastAttempt time.Time
	LastSuccess time.Time
	LastError   string
	OutboxDepth int64
	Ages        []refdata.Age
	// Stale holds the kinds past their maximum age (policy), by kind.
	Stale map[string]error
}

// Status reads the sync state from the database (so it also shows what a
// `kioskd sync --once` in another process did).
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	var err error
	for key, dst := range map[string]*time.Time{metaLastAttempt: &s.LastAttempt, metaLastSuccess: &s.LastSuccess} {
		v, err := c.meta(ctx, key)
		if err != nil {
			return s, err
		}
		if v != "" {
			*dst, _ = time.Parse(time.RFC3339Nano, v)
		}
	}
	if s.LastError, err = c.meta(ctx, metaLastError); err != nil {
		return s, err
	}
	if s.OutboxDepth, err = c.st.OutboxDepth(ctx); err != nil {
		return s, err
	}
	now := c.clk.Now()
	if s.Ages, err = refdata.Ages(ctx, c.st, now); err != nil {
		return s, err
	}
	s.Stale = map[string]error{}
	for _, a := range s.Ages {
		if max, ok := c.cfg.Policy[a.Kind]; ok {
			if err := refdata.Fresh(ctx, c.st, a.Kind, max, now); err != nil {
				s.Stale[a.Kind] = err
			}
		}
	}
	return s, nil
}

func (c *Client) stationStatus(ctx context.Context) *protocol.StationStatus {
	var ps protocol.StationStatus
	if c.status != nil {
		ps = c.status(ctx)
	}
	ps.Version = c.cfg.Version
	ps.ClockSource = c.clk.Source()
	if st, err := c.Status(ctx); err == nil {
		ps.LastSync = st.LastSuccess
		ps.LastError = st.LastError
		ps.OutboxDepth = st.OutboxDepth
		if ps.IssuingUntil.IsZero() {
			// The station did not say (it has no CRLs to add): the
			// policy's limit over the data an issuance decides on.
			if until, _, ok, err := c.cfg.Policy.Until(ctx, c.st, refdata.IssuingKinds...); err == nil && ok {
				ps.IssuingUntil = until
			}
		}
		ps.DataAgeSeconds = map[string]int64{}
		for _, a := range st.Ages {
			if !a.CompleteAt.IsZero() {
				ps.DataAgeSeconds[a.Kind] = int64(a.Age / time.Second)
			}
		}
	}
	return &ps
}
