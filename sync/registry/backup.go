package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// ErrBackupPostgres: Backup is SQLite's; a registry on PostgreSQL is
// backed up with PostgreSQL's tools, its CA directory with the files.
var ErrBackupPostgres = errors.New("registry: the database is on PostgreSQL: back it up with pg_dump or point-in-time recovery, and copy the data directory's ca/ (docs/registry-operations.md)")

// Backup writes a consistent copy of the registry's data directory into
// dir while it serves: the database through SQLite's online backup API
// (one read transaction, which in WAL mode does not hold up the writers),
// and the CA and server
// certificate files. Restoring is pointing -data at dir. dir must not
// exist yet.
func (s *Server) Backup(ctx context.Context, dir string) error {
	if s.db.dialect == postgres {
		return ErrBackupPostgres
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("registry: backup: %w", err)
	}
	if err := s.backupDB(ctx, filepath.Join(dir, "registry.db")); err != nil {
		return err
	}
	for _, rel := range []string{"ca", "server.pem", "server-key.pem"} {
		if err := copyTree(filepath.Join(s.cfg.DataDir, rel), filepath.Join(dir, rel)); err != nil {
			return fmt.Errorf("registry: backup %s: %w", rel, err)
		}
	}
	return s.backupReleases(filepath.Join(dir, "releases")) // issue 16: the release bundles (rollout.go)
}

func (s *Server) backupDB(ctx context.Context, path string) error {
	dst, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=DELETE")
	if err != nil {
		return fmt.Errorf("registry: backup: %w", err)
	}
	defer dst.Close()
	dconn, err := dst.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registry: backup: %w", err)
	}
	defer dconn.Close()
	sconn, err := s.db.reader.Conn(ctx)
	if err != nil {
		return fmt.Errorf("registry: backup: %w", err)
	}
	defer sconn.Close()
	err = dconn.Raw(func(d any) error {
		return sconn.Raw(func(src any) error {
			dc, ok1 := d.(*sqlite3.SQLiteConn)
			sc, ok2 := src.(*sqlite3.SQLiteConn)
			if !ok1 || !ok2 {
				return errors.New("not SQLite connections")
			}
			b, err := dc.Backup("main", sc, "main")
			if err != nil {
				return err
			}
			// One step under one read transaction: in WAL mode it does
			// not block the writers, and the copy is one committed state.
			if _, err := b.Step(-1); err != nil {
				_ = b.Close()
				return err
			}
			return b.Finish()
		})
	})
	if err != nil {
		return fmt.Errorf("registry: backup database: %w", err)
	}
	var ok string
	if err := dconn.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("registry: backup database: integrity check %q: %v", ok, err)
	}
	return nil
}

// copyTree copies a file or a directory of files (one level: the CA).
func copyTree(src, dst string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return copyFile(src, dst, fi.Mode().Perm())
	}
	if err := os.Mkdir(dst, 0o700); err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := copyTree(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
