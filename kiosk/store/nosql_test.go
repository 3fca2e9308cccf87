package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// stationTables are the tables the embedded migrations create.
func stationTables(t *testing.T) []string {
	t.Helper()
	migs, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?i)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(\w+)`)
	var out []string
	for _, m := range migs {
		for _, g := range re.FindAllStringSubmatch(m.SQL, -1) {
			out = append(out, g[1])
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d station tables in the migrations: %v", len(out), out)
	}
	return out
}

// sqlOn reports whether s reads or writes one of tables: SELECT … FROM,
// INSERT INTO, UPDATE … SET, DELETE FROM, REPLACE INTO naming it.
func sqlOn(s string, tables []string) (string, bool) {
	verbs := regexp.MustCompile(`(?is)\bSELECT\b.*\bFROM\b|\bINSERT\b(\s+OR\s+\w+)?\s+INTO\b|\bUPDATE\b\s+\w+\s+SET\b|\bDELETE\s+FROM\b|\bREPLACE\s+INTO\b`)
	if !verbs.MatchString(s) {
		return "", false
	}
	for _, tb := range tables {
		if regexp.MustCompile(`(?i)\b` + tb + `\b`).MatchString(s) {
			return tb, true
		}
	}
	return "", false
}

// TestNoStationSQLOutsideStore fails when a non-test Go file of the module
// outside kiosk/store issues SQL on a station table: all SQL on the
// station database lives in this package. The registry's own database
// (sync/registry*) is another database and is not checked.
func TestNoStationSQLOutsideStore(t *testing.T) {
	tables := stationTables(t)
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", root, err)
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			switch {
			case rel == "kiosk/store", strings.HasPrefix(rel, "sync/registry"),
				d.Name() == "testdata", d.Name() == "node_modules", strings.HasPrefix(d.Name(), ".") && rel != ".":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if tb, bad := sqlOn(s, tables); bad {
				t.Errorf("%s: SQL on station table %s outside kiosk/store: %q", rel, tb, firstLine(s))
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("checked only %d files; the walk missed the module", checked)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// TestSQLDetector keeps the detector honest: it finds each verb on a
// station table and ignores text that only mentions one.
func TestSQLDetector(t *testing.T) {
	tables := []string{"cards", "outbox", "ref_blocked_cards"}
	tests := []struct {
		s    string
		want bool
	}{
		{"SELECT serial FROM cards WHERE serial = ?", true},
		{"select count(*)\n  from outbox", true},
		{"INSERT INTO cards (serial) VALUES (?)", true},
		{"INSERT OR REPLACE INTO ref_blocked_cards VALUES (?)", true},
		{"UPDATE outbox SET acked_at = ?", true},
		{"DELETE FROM ref_blocked_cards", true},
		{"the cards in the drawer", false},
		{"Select a card from the list", false},
		{"SELECT 1", false},
	}
	for _, tt := range tests {
		if _, got := sqlOn(tt.s, tables); got != tt.want {
			t.Errorf("sqlOn(%q) = %v, want %v", tt.s, got, tt.want)
		}
	}
}
