package registry

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestMigrateRegistryOfVersion0: a registry created before the migrations
// (the base schema only, user_version 0, issuances without their
// attestation ground) is migrated when opened: its issuances keep their
// rows and gain the new column, the new tables exist, and opening it again
// changes nothing.
func TestMigrateRegistryOfVersion0(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	old, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, baseSchema.sqlite); err != nil {
		t.Fatal(err)
	}
	if _, err := old.ExecContext(ctx, `INSERT INTO issuances (id, station_id, kind, card_serial, received_at) VALUES ('old-1', 'ST-1', 'issuance', 'RK-1', '2026-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	old.Close()
	for range 2 {
		d, err := openDB(ctx, path)
		if err != nil {
			t.Fatalf("open a registry of version 0: %v", err)
		}
		var version int
		var ground string
		var policies, attestors int
		err = d.reader.QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
			(SELECT attestation_ground FROM issuances WHERE id = 'old-1'),
			(SELECT count(*) FROM station_policies), (SELECT count(*) FROM issuance_attestors)`).Scan(&version, &ground, &policies, &attestors)
		d.close()
		if err != nil {
			t.Fatal(err)
		}
		if version != len(migrations) || ground != "" || policies != 0 || attestors != 0 {
			t.Errorf("got version %d, ground %q, %d policies, %d attestors; want version %d and the old issuance without attestation",
				version, ground, policies, attestors, len(migrations))
		}
	}
}
