package registry

// Changes of administrators (AD-1, AD-2; issue 14 item 4). A station asks
// for one (an admin_change event: appoint or remove an administrator at
// that station, asked for by its manager, who proved who they are with
// their own SITHS card); a station manager approves or rejects it at the
// console, or makes a change for a station directly. Both go through
// rules.PlanAdminChange. What is approved changes the administrators
// authorised at that station (station_admins), which the station pulls as
// its own operators snapshot, so AD-1 applies at its next login; the
// decisions go to the station in its admin_requests snapshot.
//
// Authorisation at a station: an administrator on the global list
// (operators, authorised) is authorised at every station unless a change
// removed them at this one; an administrator appointed at a station is
// authorised there only.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/kortstation/kortstation/kiosk/rules"
	"github.com/kortstation/kortstation/kiosk/rules/ident"
	"github.com/kortstation/kortstation/sync/protocol"
)

// adminsMigration adds the changes of administrators and the
// administrators authorised per station.
const adminsMigration = `CREATE TABLE admin_requests (
    station_id         TEXT NOT NULL,
    id                 TEXT NOT NULL,
    source             TEXT NOT NULL CHECK (source IN ('station', 'console')),
    event_seq          INTEGER NOT NULL DEFAULT 0,
    change             TEXT NOT NULL CHECK (change IN ('appointed', 'removed')),
    admin              TEXT NOT NULL,
    name               TEXT NOT NULL,
    email              TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    manager            TEXT NOT NULL DEFAULT '',
    manager_name       TEXT NOT NULL DEFAULT '',
    manager_proof      TEXT NOT NULL DEFAULT '',
    training_confirmed INTEGER NOT NULL DEFAULT 0,
    requested_by       TEXT NOT NULL,
    requested_at       TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason             TEXT NOT NULL DEFAULT '',
    decided_by         TEXT NOT NULL DEFAULT '',
    decided_at         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (station_id, id)
) STRICT;
CREATE INDEX admin_requests_status ON admin_requests(status, requested_at);
CREATE TABLE station_admins (
    station_id TEXT NOT NULL,
    hsa_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    authorised INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (station_id, hsa_id)
) STRICT;`

// adminsMigrationPostgres is adminsMigration for PostgreSQL (the registry
// on PostgreSQL, schema.go's schemaStep on main): no STRICT, BIGINT for
// INTEGER.
const adminsMigrationPostgres = `CREATE TABLE admin_requests (
    station_id         TEXT NOT NULL,
    id                 TEXT NOT NULL,
    source             TEXT NOT NULL CHECK (source IN ('station', 'console')),
    event_seq          BIGINT NOT NULL DEFAULT 0,
    change             TEXT NOT NULL CHECK (change IN ('appointed', 'removed')),
    admin              TEXT NOT NULL,
    name               TEXT NOT NULL,
    email              TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    manager            TEXT NOT NULL DEFAULT '',
    manager_name       TEXT NOT NULL DEFAULT '',
    manager_proof      TEXT NOT NULL DEFAULT '',
    training_confirmed BIGINT NOT NULL DEFAULT 0,
    requested_by       TEXT NOT NULL,
    requested_at       TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason             TEXT NOT NULL DEFAULT '',
    decided_by         TEXT NOT NULL DEFAULT '',
    decided_at         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (station_id, id)
);
CREATE INDEX admin_requests_status ON admin_requests(status, requested_at);
CREATE TABLE station_admins (
    station_id TEXT NOT NULL,
    hsa_id     TEXT NOT NULL,
    name       TEXT NOT NULL,
    authorised BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (station_id, hsa_id)
);`

// ReviewAdminOtherStation: an admin_change for another station than the
// one that pushed it.
const ReviewAdminOtherStation = "admin_change_for_another_station"

// operatorAuthorisedAt reports whether the administrator h is authorised
// at station (AD-1): a change at the station decides, else the global
// list.
func operatorAuthorisedAt(ctx context.Context, tx *sql.Tx, station, h string) (bool, error) {
	var ok bool
	err := tx.QueryRowContext(ctx, `SELECT coalesce(
		(SELECT authorised FROM station_admins WHERE station_id = ? AND hsa_id = ?),
		(SELECT authorised FROM operators WHERE hsa_id = ?), 0)`, station, h, h).Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("check operator: %w", err)
	}
	return ok, nil
}

// authorisedAt lists the administrators authorised at station.
func authorisedAt(ctx context.Context, tx *sql.Tx, station string) ([]ident.HSAID, error) {
	ops, err := operatorsAt(ctx, tx, station)
	if err != nil {
		return nil, err
	}
	var out []ident.HSAID
	for _, o := range ops {
		if h, err := ident.ParseHSAID(o.HSAID); err == nil && o.Authorised {
			out = append(out, h)
		}
	}
	return out, nil
}

// operatorsAt is station's operators snapshot: the global list with the
// station's changes applied, and those appointed at the station.
func operatorsAt(ctx context.Context, tx *sql.Tx, station string) ([]protocol.Operator, error) {
	return collect(ctx, tx, `SELECT o.hsa_id, o.name, coalesce(sa.authorised, o.authorised)
		FROM operators o LEFT JOIN station_admins sa ON sa.hsa_id = o.hsa_id AND sa.station_id = ?
		UNION ALL
		SELECT sa.hsa_id, sa.name, sa.authorised FROM station_admins sa
		WHERE sa.station_id = ? AND NOT EXISTS (SELECT 1 FROM operators o WHERE o.hsa_id = sa.hsa_id)
		ORDER BY 1`, func(r *sql.Rows) (protocol.Operator, error) {
		var o protocol.Operator
		return o, r.Scan(&o.HSAID, &o.Name, &o.Authorised)
	}, station, station)
}

// adminRequestsAt is station's admin_requests snapshot.
func adminRequestsAt(ctx context.Context, tx *sql.Tx, station string) ([]protocol.AdminRequest, error) {
	return collect(ctx, tx, `SELECT id, change, admin, name, source, status, reason, decided_at FROM admin_requests
		WHERE station_id = ? ORDER BY requested_at, id`, func(r *sql.Rows) (protocol.AdminRequest, error) {
		var a protocol.AdminRequest
		var at string
		if err := r.Scan(&a.RequestID, &a.Change, &a.Admin, &a.Name, &a.Source, &a.Status, &a.Reason, &at); err != nil {
			return a, err
		}
		if at != "" {
			a.DecidedAt, _ = time.Parse(time.RFC3339Nano, at)
		}
		return a, nil
	}, station)
}

// permittedAdminChange says why station may not ask for p, or "": only
// for itself, entered by an administrator authorised there (AD-1).
func permittedAdminChange(ctx context.Context, tx *sql.Tx, station string, p protocol.AdminChangePayload) (string, error) {
	if p.Station != station {
		return ReviewAdminOtherStation, nil
	}
	if p.Operator == "" {
		return ReviewOperatorMissing, nil
	}
	ok, err := operatorAuthorisedAt(ctx, tx, station, p.Operator)
	if err != nil {
		return "", err
	}
	if !ok {
		return ReviewOperatorNotAuthorised, nil
	}
	return "", nil
}

// recordAdminRequest stores a station's request as pending (apply).
func recordAdminRequest(ctx context.Context, tx *sql.Tx, station string, seq int64, p protocol.AdminChangePayload, now string) error {
	if p.RequestID == "" || (p.Change != protocol.AdminAppointed && p.Change != protocol.AdminRemoved) {
		return nil // stored only: nothing to decide on
	}
	at := p.At
	if at.IsZero() {
		at, _ = time.Parse(time.RFC3339Nano, now)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO admin_requests (station_id, id, source, event_seq, change, admin, name, email, phone,
		manager, manager_name, manager_proof, training_confirmed, requested_by, requested_at, status)
		VALUES (?, ?, 'station', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending') ON CONFLICT DO NOTHING`,
		station, p.RequestID, seq, p.Change, p.Admin, p.Name, p.Email, p.Phone, p.Manager, p.ManagerName, p.ManagerProof,
		p.TrainingConfirmed, p.Operator, ts(at)); err != nil {
		return fmt.Errorf("record admin change: %w", err)
	}
	_, err := nextRev(ctx, tx)
	return err
}

// AdminRequest is a change of administrators as the console shows it.
type AdminRequest struct {
	Station, ID, Source                string
	Change, Admin, Name, Email, Phone  string
	Manager, ManagerName, ManagerProof string
	TrainingConfirmed                  bool
	RequestedBy                        string
	RequestedAt                        time.Time
	Status, Reason, DecidedBy          string
	DecidedAt                          time.Time
	Findings                           []string // what PlanAdminChange finds against it (rule keys), for a pending one
}

// AdminRequests lists the changes of administrators: pending first, then
// the newest decided.
func (s *Server) AdminRequests(ctx context.Context) ([]AdminRequest, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("registry: admin requests: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	out, err := collect(ctx, tx, `SELECT station_id, id, source, change, admin, name, email, phone, manager, manager_name, manager_proof,
		training_confirmed, requested_by, requested_at, status, reason, decided_by, decided_at FROM admin_requests
		ORDER BY status != 'pending', CASE WHEN status = 'pending' THEN requested_at END, decided_at DESC LIMIT 500`,
		func(r *sql.Rows) (AdminRequest, error) {
			var a AdminRequest
			var req, dec string
			err := r.Scan(&a.Station, &a.ID, &a.Source, &a.Change, &a.Admin, &a.Name, &a.Email, &a.Phone, &a.Manager, &a.ManagerName,
				&a.ManagerProof, &a.TrainingConfirmed, &a.RequestedBy, &req, &a.Status, &a.Reason, &a.DecidedBy, &dec)
			a.RequestedAt, _ = time.Parse(time.RFC3339Nano, req)
			a.DecidedAt, _ = time.Parse(time.RFC3339Nano, dec)
			return a, err
		})
	if err != nil {
		return nil, fmt.Errorf("registry: admin requests: %w", err)
	}
	for i := range out {
		if out[i].Status != protocol.AdminPending {
			continue
		}
		auth, err := authorisedAt(ctx, tx, out[i].Station)
		if err != nil {
			return nil, err
		}
		if _, err := rules.PlanAdminChange(out[i].change(), auth); err != nil {
			out[i].Findings = findingKeys(err)
		}
	}
	return out, nil
}

func (a AdminRequest) change() rules.AdminChange {
	admin, _ := ident.ParseHSAID(a.Admin)
	manager, _ := ident.ParseHSAID(a.Manager)
	return rules.AdminChange{Kind: rules.AdminChangeKind(a.Change), Admin: admin, Name: a.Name, Email: a.Email, Phone: a.Phone,
		Manager: manager, TrainingConfirmed: a.TrainingConfirmed, At: a.RequestedAt}
}

// findingKeys are the rule and key of each violation in err.
func findingKeys(err error) []string {
	var out []string
	var vs rules.Violations
	if errors.As(err, &vs) {
		for _, v := range vs {
			out = append(out, v.Rule+" "+string(v.Key))
		}
		return out
	}
	var v *rules.Violation
	if errors.As(err, &v) {
		return []string{v.Rule + " " + string(v.Key)}
	}
	return []string{err.Error()}
}

// ErrAdminChange: rules.PlanAdminChange refused the change; Findings says
// why.
type ErrAdminChange struct{ Findings []string }

func (e *ErrAdminChange) Error() string {
	return "registry: the change of administrators is refused: " + strings.Join(e.Findings, ", ")
}

// Unwrap makes it an ErrInvalid.
func (e *ErrAdminChange) Unwrap() error { return ErrInvalid }

// DecideAdminRequest approves or rejects (reason required) station's
// request id. An approval is planned with rules.PlanAdminChange against
// the administrators authorised at the station, and changes them; the
// station sees both at its next pull.
func (s *Server) DecideAdminRequest(ctx context.Context, station, id string, approve bool, actor, reason string) error {
	if !approve && strings.TrimSpace(reason) == "" {
		return fmt.Errorf("registry: admin request: %w: a reason is required to reject", ErrInvalid)
	}
	now := ts(s.now())
	return s.db.write(ctx, func(tx *sql.Tx) error {
		var a AdminRequest
		var req string
		err := tx.QueryRowContext(ctx, `SELECT change, admin, name, email, phone, manager, training_confirmed, requested_at, status
			FROM admin_requests WHERE station_id = ? AND id = ?`, station, id).Scan(&a.Change, &a.Admin, &a.Name, &a.Email, &a.Phone,
			&a.Manager, &a.TrainingConfirmed, &req, &a.Status)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: admin request %s/%s: %w", station, id, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("registry: admin request: %w", err)
		}
		if a.Status != protocol.AdminPending {
			return fmt.Errorf("registry: admin request %s/%s: %w: %w", station, id, ErrInvalid, ErrDecided)
		}
		a.RequestedAt, _ = time.Parse(time.RFC3339Nano, req)
		status := protocol.AdminRejected
		if approve {
			status = protocol.AdminApproved
			if err := planAndApply(ctx, tx, station, id, a.change(), now); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE admin_requests SET status = ?, reason = ?, decided_by = ?, decided_at = ? WHERE station_id = ? AND id = ?`,
			status, strings.TrimSpace(reason), actor, now, station, id); err != nil {
			return fmt.Errorf("registry: admin request: %w", err)
		}
		_, err = nextRev(ctx, tx)
		return err
	})
}

// ChangeAdmin makes a change of administrators at station from the
// console (the manager told the central service, seed 004): planned with
// rules.PlanAdminChange, recorded as approved and applied. It returns the
// change's ID.
func (s *Server) ChangeAdmin(ctx context.Context, station string, c rules.AdminChange, actor string) (string, error) {
	if !stationIDRe.MatchString(station) {
		return "", fmt.Errorf("registry: station ID %q: %w", station, ErrInvalid)
	}
	id := "C-" + uuid.NewString()
	now := ts(s.now())
	if c.At.IsZero() {
		c.At = s.now()
	}
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM stations WHERE id = ?`, station).Scan(&n); err != nil {
			return fmt.Errorf("registry: admin change: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("registry: station %q: %w", station, ErrNotFound)
		}
		if err := planAndApply(ctx, tx, station, id, c, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO admin_requests (station_id, id, source, change, admin, name, email, phone,
			manager, manager_proof, training_confirmed, requested_by, requested_at, status, decided_by, decided_at)
			VALUES (?, ?, 'console', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'approved', ?, ?)`,
			station, id, string(c.Kind), c.Admin.String(), c.Name, c.Email, c.Phone, c.Manager.String(), protocol.ManagerProofCentral,
			c.TrainingConfirmed, actor, now, actor, now); err != nil {
			return fmt.Errorf("registry: admin change: %w", err)
		}
		_, err := nextRev(ctx, tx)
		return err
	})
	return id, err
}

// planAndApply checks c with rules.PlanAdminChange against the
// administrators authorised at station and changes them.
func planAndApply(ctx context.Context, tx *sql.Tx, station, id string, c rules.AdminChange, now string) error {
	auth, err := authorisedAt(ctx, tx, station)
	if err != nil {
		return err
	}
	d, err := rules.PlanAdminChange(c, auth)
	if err != nil {
		return &ErrAdminChange{Findings: findingKeys(err)}
	}
	if !d.SendToCentral {
		return errors.New("registry: admin change: not for the central service")
	}
	name := strings.TrimSpace(c.Name)
	if name == "" {
		// A removal may name nobody: keep the name the registry has.
		_ = tx.QueryRowContext(ctx, `SELECT coalesce((SELECT name FROM station_admins WHERE station_id = ? AND hsa_id = ?),
			(SELECT name FROM operators WHERE hsa_id = ?), '')`, station, c.Admin.String(), c.Admin.String()).Scan(&name)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO station_admins (station_id, hsa_id, name, authorised, request_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (station_id, hsa_id) DO UPDATE SET name = excluded.name, authorised = excluded.authorised,
		request_id = excluded.request_id, updated_at = excluded.updated_at`,
		station, c.Admin.String(), name, c.Kind == rules.AdminAppointed, id, now)
	if err != nil {
		return fmt.Errorf("registry: admin change: %w", err)
	}
	return nil
}
