package app

import (
	"flag"
	"os"
	"testing"

	"github.com/kortstation/kortstation/kiosk/store"
)

func flagErrHelp() error { return flag.ErrHelp }

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func latestSchema(t *testing.T) int {
	t.Helper()
	migs, err := store.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return len(migs)
}
