// Package control is the station's end of the remote-control channel: a
// long poll, opened by the station over the same mutual TLS as sync, on
// which the registry delivers "sync now", "lock station" and "unlock
// station" within seconds. A command is acknowledged (by the next poll)
// only after its handler succeeded, so a command is never lost; handlers
// must be idempotent since one may be delivered again after a restart.
package control

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/kortstation/kortstation/sync/client/enrol"
	"github.com/kortstation/kortstation/sync/client/reconcile"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Handlers are what the station does on each command. A nil handler
// acknowledges the command without doing anything.
type Handlers struct {
	SyncNow func(ctx context.Context) error
	Lock    func(ctx context.Context) error
	Unlock  func(ctx context.Context) error
}

// Config configures a Client.
type Config struct {
	Identity enrol.Identity
	TLS      *tls.Config   // overrides the identity's TLS files
	Wait     time.Duration // how long the registry may hold a poll; default 25 s
	// MaxRetry is the longest wait between reconnection attempts; default 30 s.
	MaxRetry    time.Duration
	Logger      *slog.Logger
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Client keeps the long poll open.
type Client struct {
	cfg Config
	h   Handlers
	log *slog.Logger
	hc  interface {
		CloseIdleConnections()
	}
	post func(ctx context.Context, req protocol.ControlRequest) (protocol.ControlResponse, error)

	mu      sync.Mutex
	lastOK  time.Time
	lastErr error
	handled int
}

// New makes a control client.
func New(cfg Config, h Handlers) (*Client, error) {
	if cfg.Wait <= 0 {
		cfg.Wait = 25 * time.Second
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Identity.StationID == "" || cfg.Identity.URL == "" {
		return nil, errors.New("control: config needs Identity.StationID and Identity.URL")
	}
	tc := cfg.TLS
	if tc == nil {
		var err error
		if tc, err = cfg.Identity.TLSConfig(); err != nil {
			return nil, fmt.Errorf("control: %w", err)
		}
	}
	hc := reconcile.NewHTTPClient(tc, cfg.Wait+15*time.Second, cfg.DialContext)
	c := &Client{cfg: cfg, h: h, log: cfg.Logger.With("component", "control"), hc: hc}
	url := cfg.Identity.URL + protocol.PathControl
	c.post = func(ctx context.Context, req protocol.ControlRequest) (protocol.ControlResponse, error) {
		var resp protocol.ControlResponse
		err := protocol.Post(ctx, hc, url, req, &resp)
		return resp, err
	}
	return c, nil
}

// Run polls until ctx ends, reconnecting with backoff after failures.
func (c *Client) Run(ctx context.Context) error {
	defer c.hc.CloseIdleConnections()
	var after int64
	retry := time.Second
	for ctx.Err() == nil {
		resp, err := c.post(ctx, protocol.ControlRequest{StationID: c.cfg.Identity.StationID, After: after, WaitSeconds: int(c.cfg.Wait / time.Second)})
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.setErr(err)
			c.log.Warn("control channel failed; retrying", "in", retry, "err", err)
			select {
			case <-time.After(retry):
			case <-ctx.Done():
			}
			retry = min(retry*2, c.cfg.MaxRetry)
			continue
		}
		retry = time.Second
		c.setErr(nil)
	cmds:
		for _, cmd := range resp.Commands {
			if cmd.ID <= after {
				continue
			}
			if err := c.handle(ctx, cmd); err != nil {
				c.log.Error("command failed; it will be delivered again", "command", cmd.Kind, "id", cmd.ID, "err", err)
				select {
				case <-time.After(retry):
				case <-ctx.Done():
				}
				break cmds
			}
			after = cmd.ID
		}
	}
	return nil
}

func (c *Client) handle(ctx context.Context, cmd protocol.Command) error {
	var fn func(context.Context) error
	switch cmd.Kind {
	case protocol.CmdSyncNow:
		fn = c.h.SyncNow
	case protocol.CmdLock:
		fn = c.h.Lock
	case protocol.CmdUnlock:
		fn = c.h.Unlock
	default:
		c.log.Warn("unknown command acknowledged without action", "command", cmd.Kind, "id", cmd.ID)
		return nil
	}
	c.log.Info("command received", "command", cmd.Kind, "id", cmd.ID)
	if fn != nil {
		if err := fn(ctx); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.handled++
	c.mu.Unlock()
	return nil
}

func (c *Client) setErr(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lastErr = err
	if err == nil {
		c.lastOK = time.Now()
	}
}

// State is the channel's health for the status screen.
type State struct {
	Connected bool      // the last poll succeeded
	LastOK    time.Time // when a poll last succeeded
	LastErr   error
	Handled   int // commands handled since start
}

// State returns the channel's health.
func (c *Client) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return State{Connected: c.lastErr == nil && !c.lastOK.IsZero(), LastOK: c.lastOK, LastErr: c.lastErr, Handled: c.handled}
}
