package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/kortstation/kortstation/kiosk/clock"
	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// Schema compatibility across a rollback (issue 16, docs/appliance.md
// "Schema migrations and rollback"): each migration declares whether an
// older binary may still use the database after it; these tests hold the
// declarations to account.

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openWith(t *testing.T, path string, migs []Migration) *Store {
	t.Helper()
	st, err := Open(context.Background(), path, Options{Migrations: migs, Logger: quiet()})
	if err != nil {
		t.Fatalf("open with %d migrations: %v", len(migs), err)
	}
	return st
}

func embedded(t *testing.T) []Migration {
	t.Helper()
	migs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return migs
}

// TestEveryMigrationDeclaresCompat is the guard: a migration file added
// without its "-- compat:" line (or with one not understood) fails here,
// and Embedded refuses it, so no kioskd is built that cannot say whether a
// rollback past it is safe.
func TestEveryMigrationDeclaresCompat(t *testing.T) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := parseCompat(e.Name(), string(body)); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
	if migs := embedded(t); len(migs) != len(entries) {
		t.Errorf("Embedded has %d migrations, the directory %d files", len(migs), len(entries))
	}
	for name, body := range map[string]string{
		"undeclared": "-- 0002: something\nCREATE TABLE x (a);",
		"unknown":    "-- compat: probably fine\nCREATE TABLE x (a);",
		"twice":      "-- compat: additive\n-- compat: breaking\nCREATE TABLE x (a);",
		"bad floor":  "-- compat: breaking, floor zero\nCREATE TABLE x (a);",
	} {
		fsys := fstest.MapFS{
			"m/0001_initial.sql": {Data: []byte("-- compat: breaking\nCREATE TABLE station_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;")},
			"m/0002_new.sql":     {Data: []byte(body)},
		}
		if _, err := loadMigrations(fsys, "m"); err == nil || !strings.Contains(err.Error(), "0002_new.sql") {
			t.Errorf("%s declaration: loadMigrations err = %v, want a refusal naming 0002_new.sql", name, err)
		}
	}
	fsys := fstest.MapFS{"m/0001_initial.sql": {Data: []byte("-- compat: breaking, floor 2\nCREATE TABLE t (a);")}}
	if _, err := loadMigrations(fsys, "m"); err == nil {
		t.Error("a floor above the migration's own version was accepted")
	}
}

// TestDeclaredFloorOfEmbeddedSchema: 0001 is the one breaking migration so
// far; the floor of the current schema is 1 and the store records it.
func TestDeclaredFloorOfEmbeddedSchema(t *testing.T) {
	migs := embedded(t)
	for i, m := range migs {
		if m.Breaking != (i == 0) {
			t.Errorf("%s: Breaking = %v; if this is deliberate, update this test and docs/appliance.md", m.Name, m.Breaking)
		}
	}
	st := openWith(t, filepath.Join(t.TempDir(), "s.db"), migs)
	defer st.Close()
	if st.Floor() != 1 {
		t.Errorf("Floor = %d, want 1", st.Floor())
	}
	if v, err := st.Meta(context.Background(), metaSchemaFloor); err != nil || v != "1" {
		t.Errorf("recorded floor = %q, %v; want 1", v, err)
	}
}

// fullRecord writes what a station writes in a working day, through the
// store's record methods: reference data, a login, stock, a reserve-card
// issuance with its receipt and PDF, a drawer event, an administrator
// change, a void and the logout — each with its audit entry and outbox
// events.
func fullRecord(t *testing.T, st *Store, tag string) {
	t.Helper()
	ctx := context.Background()
	clk := &clock.Fixed{T: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)}
	op := "SE2321000131-P000000000011"
	sess := Session{ID: "sess-" + tag, Operator: op}
	pnr, err := ident.ParsePersonalNumber("198001012346")
	if err != nil {
		t.Fatal(err)
	}
	serial, spare := "RK-"+tag+"-1", "RK-"+tag+"-2"
	at := clk.T
	steps := []struct {
		name string
		fn   func(tx *Tx) error
	}{
		{"operators", func(tx *Tx) error {
			return tx.ReplaceOperators(ctx, []protocol.Operator{{HSAID: op, Name: "Ada Operatör", Authorised: true}}, at)
		}},
		{"login", func(tx *Tx) error { return tx.RecordLogin(ctx, sess, "SITHS-"+tag, at) }},
		{"stock", func(tx *Tx) error {
			return tx.SeedStockCards(ctx, []DevStockCard{{Serial: serial, Type: rules.CardReserve}, {Serial: spare, Type: rules.CardReserve}}, at)
		}},
		{"issuance", func(tx *Tx) error {
			recipient := rules.Recipient{Person: rules.Person{PersonalNumber: pnr}, Name: "Eva Ek"}
			return tx.RecordIssuance(ctx, Issuance{
				ID: "iss-" + tag, Kind: IssuanceReserve,
				Card:      rules.Card{Number: serial, Type: rules.CardReserve, State: rules.StateInStock},
				Recipient: recipient,
				Decision:  &rules.IssuanceDecision{CardNumber: serial, CardType: rules.CardReserve, NewState: rules.StateHandedOut, ValidFrom: at, ValidUntil: at.AddDate(0, 0, 14)},
				Receipt: rules.SealedReceipt{Receipt: rules.Receipt{
					ID: "KV-" + tag, Kind: rules.ReceiptReserveIssuance, Recipient: recipient.Person, RecipientName: recipient.Name,
					CardNumber: serial, CardType: rules.CardReserve, ValidFrom: at, ValidUntil: at.AddDate(0, 0, 14), SignedAt: at,
				}, Digest: "00"},
				Signatures: []byte(`[[1,2,3]]`), PDF: []byte("%PDF-1.7 " + tag), Session: sess, At: at,
			})
		}},
		{"drawer", func(tx *Tx) error {
			return tx.RecordDrawerEvent(ctx, op, DrawerEvent{State: "open", Session: sess.ID, At: at})
		}},
		{"admin request", func(tx *Tx) error {
			return tx.RecordAdminRequest(ctx, protocol.AdminChangePayload{
				RequestID: "req-" + tag, Station: "station-1", Change: protocol.AdminRemoved, Admin: "SE2321000131-P000000000012",
				Name: "Bo Admin", Manager: "SE2321000131-P000000000013", ManagerProof: "card", Operator: op, At: at,
			}, sess)
		}},
		{"void", func(tx *Tx) error {
			return tx.RecordVoid(ctx, rules.Card{Number: spare, Type: rules.CardReserve, State: rules.StateInStock}, "RC-8", sess, at)
		}},
		{"logout", func(tx *Tx) error { return tx.RecordLogout(ctx, sess, "logout", at) }},
	}
	for _, s := range steps {
		if err := st.Update(ctx, clk, s.fn); err != nil {
			t.Fatalf("record %s (%s): %v", s.name, tag, err)
		}
	}
}

func verifyAudit(t *testing.T, st *Store, who string) {
	t.Helper()
	if _, err := st.VerifyAudit(context.Background()); err != nil {
		t.Fatalf("%s: audit chain does not verify: %v", who, err)
	}
}

// TestAdditiveMigrationsKeepOlderBinariesWorking holds every migration
// declared additive to it: a database migrated by the newest binary, with
// a full record in it, is opened by an "older binary" (the migration list
// cut before that migration) without migrating; the older binary writes a
// full record of its own through the record methods, the audit chain
// verifies, and the newest binary opens the result again with both
// records and a chain that verifies. That is a rollback after an update
// that migrated the store, and the update offered again.
func TestAdditiveMigrationsKeepOlderBinariesWorking(t *testing.T) {
	migs := embedded(t)
	ctx := context.Background()
	for k := 2; k <= len(migs); k++ {
		if migs[k-1].Breaking {
			continue
		}
		t.Run(migs[k-1].Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "station.db")
			newest := openWith(t, path, migs)
			fullRecord(t, newest, "new")
			newest.Close()

			old := openWith(t, path, migs[:k-1])
			if old.Version() != len(migs) {
				t.Errorf("older binary: Version = %d, want the file's %d (not migrated down)", old.Version(), len(migs))
			}
			var uv int
			if err := old.Reader().QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv); err != nil || uv != len(migs) {
				t.Errorf("user_version after the older binary opened it = %d (%v), want %d", uv, err, len(migs))
			}
			fullRecord(t, old, "old")
			verifyAudit(t, old, "older binary")
			old.Close()

			again := openWith(t, path, migs)
			defer again.Close()
			verifyAudit(t, again, "newest binary after the older one")
			for _, id := range []string{"iss-new", "iss-old"} {
				var n int
				if err := again.Reader().QueryRowContext(ctx, "SELECT count(*) FROM issuances WHERE id = ?", id).Scan(&n); err != nil || n != 1 {
					t.Errorf("issuance %s: %d rows (%v), want 1", id, n, err)
				}
			}
		})
	}
}

// reviewedConstraints lists the new or changed triggers and unique
// indexes of additive migrations, each read and found not to refuse any
// write an older binary makes. A new one fails
// TestAdditiveMigrationsOnlyAdd until it is reviewed and listed here.
var reviewedConstraints = map[string]string{
	"0005_corrections_and_pickup.sql index receipts_corrected_once": "refuses only a second correction of one receipt version; RE-3 forbids it and no older binary corrects",
	"0006_recovery.sql trigger receipts_immutable":                  "allows the redaction in addition to what the old trigger allowed; refuses nothing new",
}

type column struct {
	name, typ string
	notNull   bool
	dflt      sql.NullString
	pk        int
}

type schemaShape struct {
	columns map[string][]column // table -> columns in order
	objects map[string]string   // "index name"/"trigger name" -> SQL
}

func shapeOf(t *testing.T, migs []Migration) schemaShape {
	t.Helper()
	st := openWith(t, filepath.Join(t.TempDir(), "shape.db"), migs)
	defer st.Close()
	ctx := context.Background()
	sh := schemaShape{columns: map[string][]column{}, objects: map[string]string{}}
	rows, err := st.Reader().QueryContext(ctx, "SELECT type, name, coalesce(sql, '') FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var typ, name, text string
		if err := rows.Scan(&typ, &name, &text); err != nil {
			t.Fatal(err)
		}
		if typ == "table" {
			tables = append(tables, name)
			continue
		}
		sh.objects[typ+" "+name] = text
	}
	rows.Close()
	for _, table := range tables {
		rows, err := st.Reader().QueryContext(ctx, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.name, &c.typ, &c.notNull, &c.dflt, &c.pk); err != nil {
				t.Fatal(err)
			}
			sh.columns[table] = append(sh.columns[table], c)
		}
		rows.Close()
	}
	return sh
}

// TestAdditiveMigrationsOnlyAdd checks each additive migration's schema
// change mechanically: no table, column, index or trigger of the schema
// before it is dropped or altered, new columns are nullable or have a
// default, and a new or changed trigger or unique index is one reviewed in
// reviewedConstraints.
func TestAdditiveMigrationsOnlyAdd(t *testing.T) {
	migs := embedded(t)
	for k := 2; k <= len(migs); k++ {
		m := migs[k-1]
		if m.Breaking {
			continue
		}
		t.Run(m.Name, func(t *testing.T) {
			before, after := shapeOf(t, migs[:k-1]), shapeOf(t, migs[:k])
			for table, cols := range before.columns {
				now, ok := after.columns[table]
				if !ok {
					t.Errorf("table %s dropped", table)
					continue
				}
				if len(now) < len(cols) {
					t.Errorf("table %s lost columns", table)
					continue
				}
				for i, c := range cols {
					if now[i] != c {
						t.Errorf("table %s column %s changed: %+v -> %+v", table, c.name, c, now[i])
					}
				}
				for _, c := range now[len(cols):] {
					if c.notNull && !c.dflt.Valid {
						t.Errorf("table %s: new column %s is NOT NULL without a default; an older binary's inserts fail", table, c.name)
					}
				}
			}
			for name, text := range after.objects {
				old, existed := before.objects[name]
				if existed && old == text {
					continue
				}
				constraint := strings.HasPrefix(name, "trigger ") || strings.Contains(strings.ToUpper(text), "CREATE UNIQUE INDEX")
				if constraint {
					if _, ok := reviewedConstraints[m.Name+" "+name]; !ok {
						t.Errorf("%s is new or changed: it may refuse an older binary's writes; review it and list it in reviewedConstraints, or declare the migration breaking", name)
					}
				} else if existed {
					t.Errorf("%s changed", name)
				}
			}
			for name := range before.objects {
				if _, ok := after.objects[name]; !ok {
					t.Errorf("%s dropped", name)
				}
			}
		})
	}
}

// TestBreakingMigrationRaisesFloorAndRefusesOlder: after a breaking
// migration, a binary that does not know it is refused with
// ErrSchemaTooNew, with the versions named, and the file is left as it
// was.
func TestBreakingMigrationRaisesFloorAndRefusesOlder(t *testing.T) {
	migs := embedded(t)
	n := len(migs)
	path := filepath.Join(t.TempDir(), "station.db")
	newer := append(append([]Migration{}, migs...), Migration{Name: "breaking.sql", SQL: "CREATE TABLE breaking (a)", Breaking: true})
	st := openWith(t, path, newer)
	if st.Floor() != n+1 {
		t.Errorf("Floor = %d, want %d", st.Floor(), n+1)
	}
	fullRecord(t, st, "new")
	st.Close()
	before := fileHash(t, path)
	_, err := Open(context.Background(), path, Options{Migrations: migs, Logger: quiet()})
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("older binary: err = %v, want ErrSchemaTooNew", err)
	}
	for _, want := range []string{fmt.Sprintf("schema version %d", n+1), fmt.Sprintf("schema %d or later", n+1), fmt.Sprintf("knows up to %d", n)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if fileHash(t, path) != before {
		t.Error("the refused database was modified")
	}
}

// TestTwoReleaseBreakingChange is the release rule for a breaking change:
// release 1 ships an additive step and code that works without what is
// to go; release 2 removes it with "breaking, floor <release 1's
// version>". Release 1 still opens release 2's database (a rollback from 2
// to 1 is safe), release 0 does not, and release 2 refuses to migrate a
// database last used by release 0 (a rollback would return there).
func TestTwoReleaseBreakingChange(t *testing.T) {
	r0 := embedded(t)
	n := len(r0)
	r1 := append(append([]Migration{}, r0...), Migration{Name: "r1_add.sql", SQL: "ALTER TABLE station_meta ADD COLUMN note TEXT"})
	r2 := append(append([]Migration{}, r1...), Migration{Name: "r2_drop.sql", SQL: "CREATE TABLE gone (a); DROP TABLE gone", Breaking: true, Floor: n + 1})
	ctx := context.Background()

	t.Run("in steps", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.db")
		openWith(t, path, r0).Close()
		openWith(t, path, r1).Close()
		st := openWith(t, path, r2)
		if st.Floor() != n+1 || st.Version() != n+2 {
			t.Errorf("release 2: version %d floor %d, want %d and %d", st.Version(), st.Floor(), n+2, n+1)
		}
		if opens, knows := st.PreviousSoftware(); !opens || knows != n+1 {
			t.Errorf("release 2: previous software opens=%v knows=%d, want true %d", opens, knows, n+1)
		}
		st.Close()
		// A restart of release 2 still knows release 1 is the one before.
		st = openWith(t, path, r2)
		if opens, knows := st.PreviousSoftware(); !opens || knows != n+1 {
			t.Errorf("release 2 restarted: previous software opens=%v knows=%d, want true %d", opens, knows, n+1)
		}
		st.Close()
		// Rolled back to release 1: it opens release 2's database and works.
		back := openWith(t, path, r1)
		fullRecord(t, back, "r1")
		verifyAudit(t, back, "release 1 after release 2")
		back.Close()
		// Release 0 does not.
		if _, err := Open(ctx, path, Options{Migrations: r0, Logger: quiet()}); !errors.Is(err, ErrSchemaTooNew) {
			t.Errorf("release 0 on release 2's database: err = %v, want ErrSchemaTooNew", err)
		}
	})

	t.Run("jumping a release", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "station.db")
		st := openWith(t, path, r0)
		fullRecord(t, st, "r0")
		st.Close()
		before := fileHash(t, path)
		_, err := Open(ctx, path, Options{Migrations: r2, Logger: quiet()})
		if !errors.Is(err, ErrRollbackUnsafe) {
			t.Fatalf("release 0 -> 2: err = %v, want ErrRollbackUnsafe", err)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("knows schema up to %d", n)) {
			t.Errorf("error %q does not say what the previous software knows", err)
		}
		if fileHash(t, path) != before {
			t.Error("the refused database was modified")
		}
		// Release 0 still runs on it: the refused trial left nothing behind.
		openWith(t, path, r0).Close()
	})
}

// TestSoftwareFromBeforeTheFloor: a database last used by a kioskd from
// before the floor existed (no schema.* keys; such a binary refuses every
// newer schema) is not migrated at all, since a rollback would return to
// that kioskd; opened by a floor-aware binary of the same schema first, it
// may then be migrated additively.
func TestSoftwareFromBeforeTheFloor(t *testing.T) {
	migs := embedded(t)
	path := filepath.Join(t.TempDir(), "station.db")
	st := openWith(t, path, migs)
	if err := st.Write(context.Background(), func(tx *sql.Tx) error {
		_, err := tx.Exec("DELETE FROM station_meta WHERE key LIKE 'schema.%'")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	next := append(append([]Migration{}, migs...), Migration{Name: "additive.sql", SQL: "CREATE TABLE extra (a)"})
	if _, err := Open(context.Background(), path, Options{Migrations: next, Logger: quiet()}); !errors.Is(err, ErrRollbackUnsafe) {
		t.Fatalf("migrating a pre-floor database: err = %v, want ErrRollbackUnsafe", err)
	}
	same := openWith(t, path, migs)
	if opens, knows := same.PreviousSoftware(); !opens || knows != len(migs) {
		t.Errorf("previous software opens=%v knows=%d, want true %d", opens, knows, len(migs))
	}
	same.Close()
	st = openWith(t, path, next)
	defer st.Close()
	if st.Version() != len(next) {
		t.Errorf("Version = %d, want %d", st.Version(), len(next))
	}
}
