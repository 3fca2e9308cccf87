package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
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
//
// Each migration declares whether software that knows only the schema
// before it may still read and write the database after it. An additive
// migration (new tables, new nullable or defaulted columns, new indexes)
// leaves older software working; a breaking one (a dropped or renamed
// column, a new NOT NULL column without a default, a changed meaning)
// raises the database's compatibility floor: the lowest schema version a
// binary must know to open the database at all. An embedded migration
// declares it in a comment line of its file:
//
//	-- compat: additive
//	-- compat: breaking
//	-- compat: breaking, floor 9
//
// The last form is the second release of a breaking change (docs/appliance.md,
// "Schema migrations and rollback"): the release before it (knowing schema
// 9) already reads and writes the database without what this migration
// removes, so it may still open it.
type Migration struct {
	Name string
	SQL  string
	// Breaking: older software must not open the database after this
	// migration.
	Breaking bool
	// Floor is, for a breaking migration, the lowest schema version a
	// binary must know to open the database after it; 0 means the
	// migration's own version.
	Floor int
}

// compatDecl is the prefix of the declaration line in a migration file.
const compatDecl = "-- compat:"

// parseCompat reads a migration file's compatibility declaration. A file
// without one, with two, or with one not understood is an error: every
// migration must say what it does to older software.
func parseCompat(name, body string) (breaking bool, floor int, err error) {
	found := false
	for _, line := range strings.Split(body, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), compatDecl)
		if !ok {
			continue
		}
		if found {
			return false, 0, fmt.Errorf("store: migration %s declares its compatibility twice", name)
		}
		found = true
		decl := strings.TrimSpace(rest)
		switch {
		case decl == "additive":
		case decl == "breaking":
			breaking = true
		case strings.HasPrefix(decl, "breaking, floor "):
			breaking = true
			floor, err = strconv.Atoi(strings.TrimPrefix(decl, "breaking, floor "))
			if err != nil || floor < 1 {
				return false, 0, fmt.Errorf("store: migration %s: floor in %q is not a schema version", name, line)
			}
		default:
			return false, 0, fmt.Errorf("store: migration %s: %q is not understood; want %q, %q or %q", name, line,
				compatDecl+" additive", compatDecl+" breaking", compatDecl+" breaking, floor N")
		}
	}
	if !found {
		return false, 0, fmt.Errorf("store: migration %s has no %q line: declare whether software that knows only the earlier schema may still use the database after it (additive) or not (breaking)", name, compatDecl)
	}
	return breaking, floor, nil
}

// Embedded returns the migrations compiled into the binary, in order. File
// names start with their 1-based version number ("0001_initial.sql"); a gap,
// a duplicate or a missing compatibility declaration is a build error
// caught by the tests.
func Embedded() ([]Migration, error) { return loadMigrations(migrationFiles, "migrations") }

func loadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
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
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("store: read migration %s: %w", e.Name(), err)
		}
		breaking, floor, err := parseCompat(e.Name(), string(body))
		if err != nil {
			return nil, err
		}
		migs = append(migs, Migration{Name: e.Name(), SQL: string(body), Breaking: breaking, Floor: floor})
	}
	if err := checkFloors(migs); err != nil {
		return nil, err
	}
	return migs, nil
}

// checkFloors refuses a breaking migration whose floor is above its own
// version.
func checkFloors(migs []Migration) error {
	for i, m := range migs {
		if m.Breaking && m.Floor > i+1 {
			return fmt.Errorf("store: migration %d (%s) declares floor %d, above its own version", i+1, m.Name, m.Floor)
		}
	}
	return nil
}

// FloorAt is the compatibility floor of a database at schema version v:
// the highest floor a breaking migration up to v raised it to, 0 when none
// did.
func FloorAt(migs []Migration, v int) int {
	floor := 0
	for i := 0; i < v && i < len(migs); i++ {
		if !migs[i].Breaking {
			continue
		}
		f := migs[i].Floor
		if f == 0 {
			f = i + 1
		}
		floor = max(floor, f)
	}
	return floor
}

// station_meta keys of the schema's compatibility. The floor is kept with
// the data (written in each migration's transaction), so that software
// older than the schema can decide whether it may open the file without
// knowing the migrations it lacks. schema.opened_by and schema.previous_*
// remember which software used the database, so that a migration is never
// applied when the software before it — the one a rolled-back update
// returns to — could no longer open the result.
const (
	metaSchemaFloor = "schema.floor"
	// metaOpenedBy: the latest schema version known by the binary that
	// last opened the database.
	metaOpenedBy = "schema.opened_by"
	// metaPreviousKnows, metaPreviousReadsFloor: the same of the binary
	// before it (a different latest version), and whether that binary
	// honours the floor ("1") or refuses every schema newer than it knows
	// ("0": a kioskd from before the floor existed). Absent: the database
	// was made by the binary that last opened it.
	metaPreviousKnows      = "schema.previous_knows"
	metaPreviousReadsFloor = "schema.previous_reads_floor"
)

// ErrRollbackUnsafe is returned when migrating would leave the database
// unreadable for the software that ran before this binary: after a rolled
// back update the station would not start. Nothing is changed.
var ErrRollbackUnsafe = errors.New("migrating would lock out the software that ran before this one")

// previousSoftware is what is known of the binary a rollback returns to.
type previousSoftware struct {
	known      bool // false: no software used the database before this one
	knows      int  // its latest schema version
	readsFloor bool // it opens a newer schema when its version >= the floor
}

// opens reports whether p opens a database at version v with floor floor.
func (p previousSoftware) opens(v, floor int) bool {
	if !p.known || v <= p.knows {
		return true
	}
	return p.readsFloor && floor <= p.knows
}

func (p previousSoftware) String() string {
	if p.readsFloor {
		return fmt.Sprintf("knows schema up to %d", p.knows)
	}
	return fmt.Sprintf("knows schema up to %d and refuses any newer one", p.knows)
}

// schemaMeta reads the compatibility keys; absent keys are "".
func schemaMeta(ctx context.Context, q querier) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM station_meta WHERE key IN (?, ?, ?, ?)`,
		metaSchemaFloor, metaOpenedBy, metaPreviousKnows, metaPreviousReadsFloor)
	if err != nil {
		return nil, fmt.Errorf("store: read schema compatibility: %w", err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("store: read schema compatibility: %w", err)
		}
		m[k] = v
	}
	return m, rows.Err()
}

// previous works out, from the compatibility keys of a database at
// version v, which software a rollback of this binary (knowing latest)
// would return to.
func previous(m map[string]string, v, latest int) (previousSoftware, error) {
	num := func(k string) (int, error) {
		n, err := strconv.Atoi(m[k])
		if err != nil {
			return 0, fmt.Errorf("store: station_meta %s = %q is not a schema version", k, m[k])
		}
		return n, nil
	}
	if v == 0 {
		return previousSoftware{}, nil // a new database
	}
	if m[metaOpenedBy] == "" {
		// Only software from before the floor existed used it; it knew
		// at least the version it left.
		return previousSoftware{known: true, knows: v}, nil
	}
	openedBy, err := num(metaOpenedBy)
	if err != nil {
		return previousSoftware{}, err
	}
	if openedBy != latest {
		return previousSoftware{known: true, knows: openedBy, readsFloor: true}, nil
	}
	if m[metaPreviousKnows] == "" {
		return previousSoftware{}, nil
	}
	knows, err := num(metaPreviousKnows)
	if err != nil {
		return previousSoftware{}, err
	}
	return previousSoftware{known: true, knows: knows, readsFloor: m[metaPreviousReadsFloor] == "1"}, nil
}

// migrate applies every migration above the file's user_version, each in its
// own immediate transaction that also bumps user_version and records the
// compatibility floor, after making sure the software that ran before this
// binary could still open the result. A file newer than this binary (which
// inspect let through because its floor allows it) is not migrated.
// Finally it records this binary as the one that last opened the file.
func (s *Store) migrate(ctx context.Context, migs []Migration) error {
	if err := checkFloors(migs); err != nil {
		return err
	}
	var version int
	if err := s.writer.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	latest := len(migs)
	m := map[string]string{}
	if version > 0 {
		var err error
		if m, err = schemaMeta(ctx, s.writer); err != nil {
			return err
		}
	}
	prev, err := previous(m, version, latest)
	if err != nil {
		return err
	}
	if version < latest && !prev.opens(latest, FloorAt(migs, latest)) {
		return fmt.Errorf("store: %s: migrating schema %d to %d would need software that knows schema %d or later, but the software that ran before this one %s and could not open the database after a rollback; install a release in between first (docs/appliance.md, schema migrations): %w",
			s.path, version, latest, FloorAt(migs, latest), prev, ErrRollbackUnsafe)
	}
	for i := version; i < latest; i++ {
		mig := migs[i]
		err := func() error {
			tx, err := s.writer.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
			if _, err := tx.ExecContext(ctx, mig.SQL); err != nil {
				return err
			}
			if err := setMetaTx(ctx, tx, metaSchemaFloor, strconv.Itoa(FloorAt(migs, i+1))); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d; PRAGMA user_version = %d", ApplicationID, i+1)); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", i+1, mig.Name, err)
		}
		s.log.Info("migrated schema", "version", i+1, "migration", mig.Name)
	}
	s.version = max(version, latest)
	s.floor = FloorAt(migs, s.version)
	if version > latest {
		s.floor, _ = strconv.Atoi(m[metaSchemaFloor])
		s.log.Warn("schema is newer than this binary; opened without migrating, as its floor allows", "schema", version, "floor", s.floor, "known", latest)
	}
	s.previous = prev
	return s.recordOpener(ctx, m, version, latest, prev)
}

// recordOpener writes the floor (for a database from before the floor was
// recorded) and this binary as the last to open the database, when they
// changed.
func (s *Store) recordOpener(ctx context.Context, m map[string]string, version, latest int, prev previousSoftware) error {
	want := map[string]string{metaOpenedBy: strconv.Itoa(latest)}
	if version <= latest {
		want[metaSchemaFloor] = strconv.Itoa(s.floor)
	}
	if m[metaOpenedBy] != want[metaOpenedBy] {
		// Another binary than the last one: it becomes the previous one.
		// (Between two openings by the same binary, the previous one
		// stays what it was.)
		if prev.known {
			want[metaPreviousKnows] = strconv.Itoa(prev.knows)
			want[metaPreviousReadsFloor] = map[bool]string{true: "1", false: "0"}[prev.readsFloor]
		}
	}
	changed := false
	for k, v := range want {
		if m[k] != v {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: record schema compatibility: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	for k, v := range want {
		if err := setMetaTx(ctx, tx, k, v); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: record schema compatibility: %w", err)
	}
	return nil
}

func setMetaTx(ctx context.Context, tx *sql.Tx, key, value string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO station_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value); err != nil {
		return fmt.Errorf("store: set %s: %w", key, err)
	}
	return nil
}
