package registry

import (
	"strings"
	"testing"
)

// TestRebind: ? placeholders become $1, $2, … in order and ?N becomes
// $N; question marks in literals, quoted identifiers, comments and
// dollar-quoted bodies stay.
func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`UPDATE t SET a = ?1 WHERE b = ?2 OR c = ?1`, `UPDATE t SET a = $1 WHERE b = $2 OR c = $1`},
		{`SELECT '?', "a?b", ? -- why?
			/* what? */ FROM t WHERE x = ?`, `SELECT '?', "a?b", $1 -- why?
			/* what? */ FROM t WHERE x = $2`},
		{`SELECT 'it''s ?', ?`, `SELECT 'it''s ?', $1`},
		{`DO $$ BEGIN RAISE NOTICE '?'; END $$; SELECT ?`, `DO $$ BEGIN RAISE NOTICE '?'; END $$; SELECT $1`},
		{`SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`, `SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestSchemaStepsBothDialects: every schema step has both variants, and
// no SQLite-only construct slipped into a PostgreSQL one.
func TestSchemaStepsBothDialects(t *testing.T) {
	for i, st := range append([]schemaStep{baseSchema}, migrations...) {
		if st.sqlite == "" || st.postgres == "" {
			t.Errorf("schema step %d lacks a dialect", i)
		}
		for _, bad := range []string{"STRICT", "AUTOINCREMENT", "BLOB", "RAISE(ABORT", " INTEGER"} {
			if strings.Contains(st.postgres, bad) {
				t.Errorf("schema step %d: PostgreSQL variant has %q", i, bad)
			}
		}
	}
}
