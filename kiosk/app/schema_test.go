package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kortstation/kortstation/kiosk/store"
)

// TestKioskdRefusesAMigrationThatStrandsTheRollback: the store was last
// used by a kioskd from before the schema floor, at schema 6 (such a kioskd
// refuses every newer schema). This kioskd would migrate it to 7, and a
// rolled-back update would then return to a kioskd that cannot start: it
// refuses, changes nothing, and does not start — on a trial boot the health
// check then fails and the station returns to the old slot, which still
// opens the store (docs/appliance.md, schema migrations and rollback).
func TestKioskdRefusesAMigrationThatStrandsTheRollback(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	path := filepath.Join(dataDir, "station.db")
	migs, err := store.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	old := migs[:len(migs)-1]
	st, err := store.Open(ctx, path, store.Options{Migrations: old, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec("DELETE FROM station_meta WHERE key LIKE 'schema.%'")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	hash := func() [32]byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b)
	}
	before := hash()

	var logs bytes.Buffer
	runCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	args := append([]string{"-listen", "127.0.0.1:0", "-allowed-hosts", "127.0.0.1:0", "-data-dir", dataDir, "-log-format", "json"}, devArgs...)
	err = Main(runCtx, Env{Args: args, Stdout: io.Discard, Stderr: &logs, Getenv: func(string) string { return "" },
		Ready: func(string) { t.Error("kioskd started on a store it must not migrate") }})
	if !errors.Is(err, store.ErrRollbackUnsafe) {
		t.Fatalf("kioskd: err = %v, want ErrRollbackUnsafe\n%s", err, logs.String())
	}
	if !strings.Contains(err.Error(), "refuses any newer one") {
		t.Errorf("the error does not say why: %v", err)
	}
	if hash() != before {
		t.Error("the refused store was changed")
	}
	// The software before still opens it.
	st, err = store.Open(ctx, path, store.Options{Migrations: old, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("the older kioskd's store no longer opens: %v", err)
	}
	st.Close()
}
