package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one step of the schema. Migrations form an append-only list:
// version N is the N-th element, applied in its own transaction.
type Migration struct {
	Name string
	SQL  string
}

// Embedded returns the migrations compiled into the binary, in order. File
// names start with their 1-based version number ("0001_initial.sql"); a gap
// or a duplicate is a build error caught by the tests.
func Embedded() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("store: read embedded migrations: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	migs := make([]Migration, 0, len(entries))
	for i, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n != i+1 {
			return nil, fmt.Errorf("store: migration %q out of sequence: want number %d", e.Name(), i+1)
		}
		body, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		migs = append(migs, Migration{Name: e.Name(), SQL: string(body)})
	}
	return migs, nil
}

// migrate applies every migration above the file's user_version, each in its
// own immediate transaction that also bumps user_version.
func (s *Store) migrate(ctx context.Context, migs []Migration) error {
	var version int
	if err := s.writer.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	for i := version; i < len(migs); i++ {
		m := migs[i]
		err := func() error {
			tx, err := s.writer.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", ApplicationID, i+1)); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", i+1, m.Name, err)
		}
		s.log.Info("migrated schema", "version", i+1, "migration", m.Name)
	}
	s.version = len(migs)
	if version > s.version {
		s.version = version
	}
	return nil
}
