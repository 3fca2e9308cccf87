// Package store opens the station's SQLite database the one way the station
// uses it: WAL, synchronous=FULL, foreign keys on, a busy timeout and
// immediate write transactions, with the pragmas verified after open and the
// embedded migrations applied.
//
// The store refuses, and never touches, a file that is not a Kortstation
// database: a file without the SQLite header, a SQLite database of another
// application, or a schema newer than this binary knows whose
// compatibility floor is above what it knows (migrate.go: each migration
// declares whether older software may still use the database after it).
// It refuses to migrate when the software that used the database before
// it could not open the result (a rolled-back update's).
package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the SQLite driver; cgo lives here and in the PC/SC driver only
)

// ApplicationID marks a SQLite file as a Kortstation station database
// ("KST1").
const ApplicationID = 0x4B535431

// sqliteMagic is the first 16 bytes of every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// ErrNotDatabase is returned for a file that is not a Kortstation database.
var ErrNotDatabase = errors.New("not a Kortstation station database")

// ErrSchemaTooNew is returned when the file's schema is newer than this
// binary knows and its compatibility floor (raised by a breaking
// migration) is above it too; the station refuses to run rather than
// guess. A newer schema whose floor this binary reaches is opened, without
// migrating: its newer migrations were all additive for this binary.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// ErrClosed is returned by Write after Close has begun.
var ErrClosed = errors.New("store is closed")

// Store is the station's database. Writes are serialised through one
// connection; reads use a small pool of read-only connections.
type Store struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	log    *slog.Logger

	mu       sync.RWMutex // held for reading by each Write, for writing by Close
	closed   bool
	version  int
	floor    int
	previous previousSoftware
}

// Options tune Open. The zero value is what the station uses.
type Options struct {
	// BusyTimeout is how long a connection waits for a lock; default 5 s.
	BusyTimeout time.Duration
	// Logger receives the store's log lines; default slog.Default().
	Logger *slog.Logger
	// Migrations overrides the embedded migrations (tests only).
	Migrations []Migration
}

// Open opens (creating if absent) the database at path, verifies it and
// migrates it to the newest schema this binary knows. A database at a
// newer schema is opened without migrating when this binary knows its
// compatibility floor, and refused with ErrSchemaTooNew otherwise. A
// migration that would lock out the software that used the database before
// this binary (a rollback's target) is refused with ErrRollbackUnsafe.
func Open(ctx context.Context, path string, opt Options) (*Store, error) {
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 5 * time.Second
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	migs := opt.Migrations
	if migs == nil {
		var err error
		if migs, err = Embedded(); err != nil {
			return nil, err
		}
	}
	if err := plainFiles(path); err != nil {
		return nil, err
	}
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	if err := secureDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	// Inspect an existing file read-only, with no pragmas, before anything
	// (such as switching to WAL) could change it.
	if err := inspect(ctx, path, len(migs)); err != nil {
		return nil, err
	}
	if err := createFile(path); err != nil {
		return nil, err
	}
	writer, err := sql.Open("sqlite3", dsn(path, opt.BusyTimeout, false))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxIdleTime(0)
	s := &Store{path: path, writer: writer, log: opt.Logger.With("component", "store")}
	if err := s.verifyPragmas(ctx); err != nil {
		writer.Close()
		return nil, err
	}
	if err := s.migrate(ctx, migs); err != nil {
		writer.Close()
		return nil, err
	}
	if err := secureFiles(path); err != nil {
		writer.Close()
		return nil, err
	}
	reader, err := sql.Open("sqlite3", dsn(path, opt.BusyTimeout, true))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("store: open reader %s: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	s.reader = reader
	return s, nil
}

func dsn(path string, busy time.Duration, readOnly bool) string {
	q := url.Values{}
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "on")
	q.Set("_busy_timeout", fmt.Sprint(busy.Milliseconds()))
	q.Set("_txlock", "immediate")
	// Deleted and overwritten content is zeroed, not left in free pages:
	// retention removes personal data for good.
	q.Set("_secure_delete", "on")
	if readOnly {
		q.Set("_query_only", "true")
	}
	return "file:" + path + "?" + q.Encode()
}

// checkHeader refuses a non-empty file that does not start with the SQLite
// magic, before SQLite is given a chance to touch it.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: open %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: stat %s: %w", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("store: %s is a directory: %w", path, ErrNotDatabase)
	}
	if st.Size() == 0 {
		return nil
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteMagic) {
		return fmt.Errorf("store: %s has no SQLite header; refusing to open or overwrite it: %w", path, ErrNotDatabase)
	}
	return nil
}

// verifyPragmas fails unless every pragma the station depends on took.
func (s *Store) verifyPragmas(ctx context.Context) error {
	want := []struct{ pragma, value string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"secure_delete", "1"},
	}
	for _, w := range want {
		var got string
		if err := s.writer.QueryRowContext(ctx, "PRAGMA "+w.pragma).Scan(&got); err != nil {
			return fmt.Errorf("store: %s: read pragma %s: %w (%w)", s.path, w.pragma, err, ErrNotDatabase)
		}
		if got != w.value {
			return fmt.Errorf("store: %s: pragma %s is %q, want %q", s.path, w.pragma, got, w.value)
		}
	}
	return nil
}

// inspect refuses an existing SQLite file that belongs to another
// application, or whose schema is newer than this binary knows. It opens
// the file read-only and sets nothing.
func inspect(ctx context.Context, path string, latest int) error {
	if st, err := os.Stat(path); err != nil || st.Size() == 0 {
		return nil // absent or empty: a new database
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return fmt.Errorf("store: inspect %s: %w", path, err)
	}
	defer db.Close()
	var appID, version, tables int
	for _, q := range []struct {
		sql string
		dst *int
	}{{"PRAGMA application_id", &appID}, {"PRAGMA user_version", &version}, {"SELECT count(*) FROM sqlite_schema", &tables}} {
		if err := db.QueryRowContext(ctx, q.sql).Scan(q.dst); err != nil {
			return fmt.Errorf("store: %s cannot be read as a database; refusing to open or overwrite it: %w (%w)", path, ErrNotDatabase, err)
		}
	}
	if appID != ApplicationID && (appID != 0 || tables != 0) {
		return fmt.Errorf("store: %s is a SQLite database of another application (application_id %#x); refusing it: %w", path, appID, ErrNotDatabase)
	}
	if version <= latest {
		return nil
	}
	// Newer than this binary: open it only if its floor says this binary
	// may (every migration it lacks was additive for it).
	var floor string
	err = db.QueryRowContext(ctx, `SELECT value FROM station_meta WHERE key = ?`, metaSchemaFloor).Scan(&floor)
	if err != nil {
		return fmt.Errorf("store: %s has schema version %d and no compatibility floor; this binary knows up to %d: %w (%w)", path, version, latest, ErrSchemaTooNew, err)
	}
	n, err := strconv.Atoi(floor)
	if err != nil || n < 0 {
		return fmt.Errorf("store: %s has schema version %d and compatibility floor %q, not a version; this binary knows up to %d: %w", path, version, floor, latest, ErrSchemaTooNew)
	}
	if n > latest {
		return fmt.Errorf("store: %s has schema version %d, which needs software that knows schema %d or later (its compatibility floor); this binary knows up to %d: %w", path, version, n, latest, ErrSchemaTooNew)
	}
	return nil
}

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Version is the database's schema version after migration: the newest
// this binary knows, or the file's own when it is newer (opened without
// migrating, as its floor allows).
func (s *Store) Version() int { return s.version }

// Floor is the database's compatibility floor: the lowest schema version a
// binary must know to open it.
func (s *Store) Floor() int { return s.floor }

// PreviousSoftware says whether the software that used the database before
// this binary (the one a rollback of an update returns to) can still open
// it, and what it knows: its latest schema version, or 0 when no other
// software used this database.
func (s *Store) PreviousSoftware() (opens bool, knows int) {
	return s.previous.opens(s.version, s.floor), s.previous.knows
}

// Ping reports whether the database answers a query; the health check and
// the systemd watchdog call it.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// Reader is the read-only connection pool. The station reads through the
// store's methods; tests may query it directly for their assertions.
func (s *Store) Reader() *sql.DB { return s.reader }

// Write runs fn in one immediate transaction on the writer connection and
// commits it durably (synchronous=FULL), or rolls it back if fn fails.
// The station writes through Update and the record methods of Tx, which
// run on Write; tests use Write directly to arrange their fixtures.
//
// A write that has begun is finished even if ctx is cancelled afterwards:
// the commit is not interrupted by shutdown. Close waits for it.
func (s *Store) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: write not started: %w", err)
	}
	tx, err := s.writer.BeginTx(context.WithoutCancel(ctx), nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, fmt.Errorf("store: rollback: %w", rerr))
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Close waits for writes in flight, then closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.reader != nil {
		errs = append(errs, s.reader.Close())
	}
	errs = append(errs, s.writer.Close())
	return errors.Join(errs...)
}
