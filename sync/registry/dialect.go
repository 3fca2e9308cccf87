package registry

// The registry's two SQL dialects. Every query is written once, portable
// (ON CONFLICT DO NOTHING, RETURNING, coalesce, CASE; no SQLite-only
// functions) with ? placeholders (or ?N for a numbered one); on
// PostgreSQL the driver below rebinds them to $n — the one place where
// the dialects meet at query time. Schema differences live side by side
// in schema.go.
//
// Writing a query for both: ? placeholders; INSERT … ON CONFLICT DO
// NOTHING (after INSERT … SELECT add WHERE true, SQLite's parser needs
// it) instead of INSERT OR IGNORE / OR REPLACE; in ON CONFLICT … DO
// UPDATE SET qualify the old row's columns with the table name
// (PostgreSQL finds a bare column there ambiguous); an alias on every
// subquery in FROM; RETURNING instead of LastInsertId; coalesce, CASE
// and count instead of SQLite's ifnull, iif and two-argument max/min.
// Bools are stored as 1/0 on both (CheckNamedValue). A new schema step
// goes into schema.go in both dialects (TestSchemaParity).

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// dialect is the database a registry runs on.
type dialect int

const (
	sqlite dialect = iota
	postgres
)

func (d dialect) String() string {
	if d == postgres {
		return "postgres"
	}
	return "sqlite"
}

// IsPostgresURL reports whether a database setting names a PostgreSQL
// server (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// openPostgresPool opens a database/sql pool on pgx whose connections
// rebind ? placeholders. params are added to the session (the reader
// pool's read-only snapshot transactions).
func openPostgresPool(cfg *pgx.ConnConfig, params map[string]string, maxConns int) *sql.DB {
	c := cfg.Copy()
	for k, v := range params {
		c.RuntimeParams[k] = v
	}
	pool := sql.OpenDB(rebindConnector{stdlib.GetConnector(*c)})
	pool.SetMaxOpenConns(maxConns)
	pool.SetMaxIdleConns(maxConns)
	return pool
}

type rebindConnector struct{ driver.Connector }

func (c rebindConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	pc, ok := cn.(*stdlib.Conn)
	if !ok {
		cn.Close()
		return nil, fmt.Errorf("registry: unexpected pgx connection %T", cn)
	}
	return &rebindConn{pc}, nil
}

// rebindConn is pgx's database/sql connection with every query's ?
// placeholders rebound to $n; everything else is pgx's.
type rebindConn struct{ *stdlib.Conn }

// Prepare returns a statement that runs through the connection: pgx
// already prepares each query once per connection and caches it, so an
// explicit prepare (and its deallocation) would only add two round trips
// inside a write transaction, which holds the write lock.
func (c *rebindConn) Prepare(q string) (driver.Stmt, error) {
	return &connStmt{c: c, q: rebind(q)}, nil
}

func (c *rebindConn) PrepareContext(_ context.Context, q string) (driver.Stmt, error) {
	return c.Prepare(q)
}

func (c *rebindConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(q), args)
}

func (c *rebindConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(q), args)
}

// CheckNamedValue stores a bool as 1 or 0, as SQLite does: the schema's
// flags are integers in both dialects.
func (c *rebindConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
	}
	return c.Conn.CheckNamedValue(nv)
}

// connStmt is a prepared statement that is only its query (Prepare).
type connStmt struct {
	c *rebindConn
	q string // rebound
}

func (s *connStmt) Close() error  { return nil }
func (s *connStmt) NumInput() int { return -1 }

func (s *connStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.c.Conn.ExecContext(ctx, s.q, args)
}

func (s *connStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.c.Conn.QueryContext(ctx, s.q, args)
}

func (s *connStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *connStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

// rebind turns ? placeholders into $1, $2, … in order and ?N into $N,
// outside string literals, quoted identifiers, comments and
// dollar-quoted bodies.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) && q[j] != c {
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '$' && i+1 < len(q) && q[i+1] == '$':
			j := strings.Index(q[i+2:], "$$")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j > i+1 {
				b.WriteString("$" + q[i+1:j])
			} else {
				n++
				b.WriteString("$" + strconv.Itoa(n))
			}
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
