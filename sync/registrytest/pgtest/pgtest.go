// Package pgtest runs a real PostgreSQL server for tests (Debian's
// postgresql package): a throwaway cluster in a temporary directory,
// socket-only, started as a child of the test process that dies with it,
// and a fresh database per test. See "PostgreSQL started by a Go test" in
// the shared recipes: initdb refuses root, so the server runs as the
// postgres user.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a running PostgreSQL server.
type Cluster struct {
	dir  string // data directory and socket directory
	cmd  *exec.Cmd
	done chan struct{}
	next atomic.Int64
}

// bindir is where Debian keeps initdb and postgres (not on PATH).
func bindir() (string, error) {
	out, err := exec.Command("pg_config", "--bindir").Output()
	if err != nil {
		return "", fmt.Errorf("pgtest: pg_config --bindir (install postgresql: scripts/install-deps.sh test): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// StartCluster initialises and starts a cluster. Stop removes it.
func StartCluster() (*Cluster, error) {
	bin, err := bindir()
	if err != nil {
		return nil, err
	}
	cred, uid, gid, err := postgresUser()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its parent is root's 0700 and postgres cannot enter
	// it. Short, for the socket path.
	dir, err := os.MkdirTemp("", "pg")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	c := &Cluster{dir: dir, done: make(chan struct{})}
	fail := func(err error) (*Cluster, error) { os.RemoveAll(dir); return nil, err }
	if err := os.Chown(dir, uid, gid); err != nil {
		return fail(fmt.Errorf("pgtest: chown cluster dir: %w", err))
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "--no-sync", "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "-D", data)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pgtest: initdb: %v: %s", err, out))
	}
	c.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=", "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "max_connections=300", "-c", "shared_buffers=64MB")
	c.cmd.Dir = dir
	log, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return fail(fmt.Errorf("pgtest: %w", err))
	}
	defer log.Close()
	_ = os.Chown(log.Name(), uid, gid)
	c.cmd.Stdout, c.cmd.Stderr = log, log
	// Dies with the test process, even one killed by -timeout.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGQUIT}
	if err := c.cmd.Start(); err != nil {
		return fail(fmt.Errorf("pgtest: start postgres: %w", err))
	}
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.DSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			return c, nil
		}
		select {
		case <-c.done:
			b, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return fail(fmt.Errorf("pgtest: postgres exited: %s", b))
		case <-ctx.Done():
			c.Stop()
			return nil, fmt.Errorf("pgtest: postgres not ready: %w", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func postgresUser() (*syscall.Credential, int, int, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("pgtest: the postgres user (install postgresql: scripts/install-deps.sh test): %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, 0, 0, fmt.Errorf("pgtest: postgres user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

// DSN is the URL of database db on the cluster (Unix socket).
func (c *Cluster) DSN(db string) string {
	return "postgres://postgres@/" + db + "?host=" + url.QueryEscape(c.dir) + "&sslmode=disable"
}

// Stop stops the server and removes the cluster.
func (c *Cluster) Stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	os.RemoveAll(c.dir)
}

// CreateDatabase creates a fresh empty database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("t%d_%d", os.Getpid(), c.next.Add(1))
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return "", fmt.Errorf("pgtest: create database: %w", err)
	}
	return c.DSN(name), nil
}

// Shared is a cluster started on first use and shared by a test binary;
// Main stops it.
type Shared struct {
	once sync.Once
	c    *Cluster
	err  error
}

// Cluster starts the shared cluster once.
func (s *Shared) Cluster() (*Cluster, error) {
	s.once.Do(func() { s.c, s.err = StartCluster() })
	return s.c, s.err
}

// Database is a fresh database on the shared cluster for one test.
func (s *Shared) Database(tb testing.TB) string {
	tb.Helper()
	c, err := s.Cluster()
	if err != nil {
		tb.Fatal(err)
	}
	dsn, err := c.CreateDatabase(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return dsn
}

// Stop stops the shared cluster if it was started.
func (s *Shared) Stop() {
	if s.c != nil {
		s.c.Stop()
	}
}
