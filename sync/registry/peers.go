package registry

// Several registry instances on one PostgreSQL database (issue 17 item 2).
// Writes are serialised across instances by db.write's advisory lock, so
// idempotent push and cursors stay exactly-once. What one instance holds
// in memory is kept in step through LISTEN/NOTIFY on one channel: a
// command queued on one instance wakes the station's long poll on
// whichever instance holds it, and a revocation reaches every instance's
// TLS handshake check. The scheduled jobs run on one instance only: the
// one holding a session-level advisory lock (pgLeader, gocron's
// distributed elector). On SQLite (one process) all of this is a no-op.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// peerChannel is the NOTIFY channel between instances.
const peerChannel = "kortstation_registry"

// listenerName is the application_name of the listening connection (as
// it shows in pg_stat_activity).
const listenerName = "registryd-listen"

// leaderName is the application_name of the jobs' leader connection.
const leaderName = "registryd-jobs"

// Peer message kinds: "<kind> <station>".
const (
	peerCommand = "command" // a command was queued for the station
	peerRevoked = "revoked" // the station's certificate was revoked
)

// tellPeers tells the other instances (and this one, harmlessly) about a
// committed change. A failure is logged: the peers still see the change
// in the database, only later (their next poll round or restart).
func (s *Server) tellPeers(ctx context.Context, kind, station string) {
	if s.db.dialect != postgres {
		return
	}
	if _, err := s.db.writer.ExecContext(context.WithoutCancel(ctx), `SELECT pg_notify(?, ?)`, peerChannel, kind+" "+station); err != nil {
		s.log.Error("notify the other registry instances", "kind", kind, "station", station, "err", err)
	}
}

// peerListener keeps one connection listening on peerChannel.
type peerListener struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// listenPeers starts listening; it returns once the first LISTEN is in
// place (so a command queued elsewhere after Open is never missed).
func (s *Server) listenPeers(ctx context.Context) (*peerListener, error) {
	conn, err := s.listenConn(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &peerListener{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for {
			err := s.receivePeers(lctx, conn)
			conn.Close(context.Background())
			if lctx.Err() != nil {
				return
			}
			s.log.Warn("registry instances' notifications interrupted; reconnecting", "err", err)
			for conn = nil; conn == nil; {
				select {
				case <-lctx.Done():
					return
				case <-time.After(time.Second):
				}
				if conn, err = s.listenConn(lctx); err != nil {
					s.log.Warn("registry instances' notifications: reconnect", "err", err)
				}
			}
			// What was sent while no one listened: reload the revocations,
			// wake every long poll to look at its commands again.
			if err := s.loadRevoked(lctx); err != nil {
				s.log.Error("reload revoked certificates", "err", err)
			}
			s.hub.notifyAll()
		}
	}()
	return l, nil
}

func (s *Server) listenConn(ctx context.Context) (*pgx.Conn, error) {
	cfg := s.db.pgcfg.Copy()
	cfg.RuntimeParams["application_name"] = listenerName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("registry: listen for other instances: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+peerChannel); err != nil {
		conn.Close(ctx)
		return nil, fmt.Errorf("registry: listen for other instances: %w", err)
	}
	return conn, nil
}

func (s *Server) receivePeers(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		kind, station, ok := strings.Cut(n.Payload, " ")
		if !ok {
			continue
		}
		switch kind {
		case peerCommand:
			s.hub.notify(station)
		case peerRevoked:
			if err := s.loadRevoked(ctx); err != nil {
				s.log.Error("reload revoked certificates", "err", err)
			}
			s.hub.notify(station)
		}
	}
}

func (l *peerListener) stop() {
	if l != nil {
		l.cancel()
		<-l.done
	}
}

// errNotLeader: another instance runs the scheduled jobs.
var errNotLeader = errors.New("registry: another instance runs the scheduled jobs")

// pgLeader is gocron's distributed elector on PostgreSQL: the instance
// whose connection holds the session-level advisory lock lockJobs is the
// leader and runs every job; when it stops or its connection dies,
// PostgreSQL releases the lock and the next instance to ask takes it.
type pgLeader struct {
	cfg  *pgx.ConnConfig
	mu   sync.Mutex
	conn *pgx.Conn
}

// IsLeader implements gocron.Elector.
func (l *pgLeader) IsLeader(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		if err := l.conn.Ping(ctx); err == nil {
			return nil
		}
		l.conn.Close(context.Background())
		l.conn = nil
	}
	cfg := l.cfg.Copy()
	cfg.RuntimeParams["application_name"] = leaderName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("registry: jobs' leader: %w", err)
	}
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockJobs).Scan(&got); err != nil || !got {
		conn.Close(context.Background())
		if err != nil {
			return fmt.Errorf("registry: jobs' leader: %w", err)
		}
		return errNotLeader
	}
	l.conn = conn
	return nil
}

// resign gives up leadership (closing the connection releases the lock).
func (l *pgLeader) resign() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		l.conn.Close(context.Background())
		l.conn = nil
	}
}
