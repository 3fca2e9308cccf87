package registry

// Staged rollout (issue 16 item 3, the registry's side): releases of the
// station software, update groups with a target version each, the offer
// a station gets at POST /v1/update and the bundle it downloads at POST
// /v1/bundle, and what stations report back (update_result events and the
// slot and update state of their status). docs/appliance.md, "Staged
// rollout", has the rules.
//
// A release's bundle is a file under the registry's data directory,
// releases/<sha256>.raucb, with its version, SHA-256 and size in the
// database. Bundles are hundreds of MB: as a file they stream from any
// offset (a resumed download) without loading or copying them, and they
// stay out of the database, its WAL, its backups and PostgreSQL's
// replication. Named by hash, a file name never comes from user input.
// Several instances on one PostgreSQL database each serve from their own
// data directory, so `registryd release add` is run on each (or the
// directory is shared); an instance without the file answers 500 and logs
// it, never other bytes.
//
// The registry decides what and when, never what is trusted: the station
// checks the bytes against the offer's SHA-256, and RAUC checks the
// bundle's signature against the keyring in the station's image.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kortstation/kortstation/kiosk/audit"
	"github.com/kortstation/kortstation/sync/protocol"
)

// The update groups every registry has: every station is in one group,
// GroupGeneral unless moved; GroupPilot is where a release goes first.
const (
	GroupGeneral = "general"
	GroupPilot   = "pilot"
)

// Errors of the rollout.
var (
	// ErrPilotFirst: a release may become the target of a group other
	// than a pilot group only after a pilot station committed it and no
	// pilot station rolled it back or refused it.
	ErrPilotFirst = errors.New("pilot first: the release has not been committed by a pilot station, or a pilot station rolled it back or refused it")
	// ErrReleaseExists: a release of that version with other bytes exists.
	ErrReleaseExists = errors.New("a release of this version with another bundle exists")
)

// rolloutMigration is schema step 8 (SQLite): update groups, releases,
// what each station reported and the per-release tally of results.
const rolloutMigration = `CREATE TABLE update_groups (
    name        TEXT PRIMARY KEY,
    pilot       INTEGER NOT NULL DEFAULT 0 CHECK (pilot IN (0, 1)),
    target      TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO update_groups (name, pilot) VALUES ('general', 0), ('pilot', 1);
CREATE TABLE releases (
    version   TEXT PRIMARY KEY,
    sha256    TEXT NOT NULL,
    size      INTEGER NOT NULL,
    added_at  TEXT NOT NULL,
    added_by  TEXT NOT NULL
) STRICT;
CREATE TABLE station_updates (
    station_id        TEXT PRIMARY KEY,
    grp               TEXT NOT NULL DEFAULT 'general',
    checked_version   TEXT NOT NULL DEFAULT '',
    checked_slot      TEXT NOT NULL DEFAULT '',
    checked_at        TEXT NOT NULL DEFAULT '',
    status_version    TEXT NOT NULL DEFAULT '',
    status_slot       TEXT NOT NULL DEFAULT '',
    status_state      TEXT NOT NULL DEFAULT '',
    status_of         TEXT NOT NULL DEFAULT '',
    status_at         TEXT NOT NULL DEFAULT '',
    result            TEXT NOT NULL DEFAULT '',
    result_version    TEXT NOT NULL DEFAULT '',
    result_from       TEXT NOT NULL DEFAULT '',
    result_slot       TEXT NOT NULL DEFAULT '',
    result_reason     TEXT NOT NULL DEFAULT '',
    result_at         TEXT NOT NULL DEFAULT '',
    result_seq        INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE TABLE update_tally (
    version TEXT NOT NULL,
    grp     TEXT NOT NULL,
    result  TEXT NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (version, grp, result)
) STRICT;`

const rolloutMigrationPostgres = `CREATE TABLE update_groups (
    name        TEXT PRIMARY KEY,
    pilot       BIGINT NOT NULL DEFAULT 0 CHECK (pilot IN (0, 1)),
    target      TEXT NOT NULL DEFAULT '',
    updated_at  TEXT NOT NULL DEFAULT '',
    updated_by  TEXT NOT NULL DEFAULT ''
);
INSERT INTO update_groups (name, pilot) VALUES ('general', 0), ('pilot', 1);
CREATE TABLE releases (
    version   TEXT PRIMARY KEY,
    sha256    TEXT NOT NULL,
    size      BIGINT NOT NULL,
    added_at  TEXT NOT NULL,
    added_by  TEXT NOT NULL
);
CREATE TABLE station_updates (
    station_id        TEXT PRIMARY KEY,
    grp               TEXT NOT NULL DEFAULT 'general',
    checked_version   TEXT NOT NULL DEFAULT '',
    checked_slot      TEXT NOT NULL DEFAULT '',
    checked_at        TEXT NOT NULL DEFAULT '',
    status_version    TEXT NOT NULL DEFAULT '',
    status_slot       TEXT NOT NULL DEFAULT '',
    status_state      TEXT NOT NULL DEFAULT '',
    status_of         TEXT NOT NULL DEFAULT '',
    status_at         TEXT NOT NULL DEFAULT '',
    result            TEXT NOT NULL DEFAULT '',
    result_version    TEXT NOT NULL DEFAULT '',
    result_from       TEXT NOT NULL DEFAULT '',
    result_slot       TEXT NOT NULL DEFAULT '',
    result_reason     TEXT NOT NULL DEFAULT '',
    result_at         TEXT NOT NULL DEFAULT '',
    result_seq        BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE update_tally (
    version TEXT NOT NULL,
    grp     TEXT NOT NULL,
    result  TEXT NOT NULL,
    n       BIGINT NOT NULL,
    PRIMARY KEY (version, grp, result)
);`

// rolloutEvidenceMigration is schema step 9: update_offers records each
// release offered to a station at an update check (and the group it was
// offered in); update_reports each station's result per release, so the
// tally counts a station once.
const rolloutEvidenceMigration = `CREATE TABLE update_offers (
    station_id  TEXT NOT NULL,
    version     TEXT NOT NULL,
    grp         TEXT NOT NULL,
    offered_at  TEXT NOT NULL,
    PRIMARY KEY (station_id, version)
) STRICT;
CREATE TABLE update_reports (
    station_id  TEXT NOT NULL,
    version     TEXT NOT NULL,
    result      TEXT NOT NULL,
    PRIMARY KEY (station_id, version, result)
) STRICT;`

const rolloutEvidenceMigrationPostgres = `CREATE TABLE update_offers (
    station_id  TEXT NOT NULL,
    version     TEXT NOT NULL,
    grp         TEXT NOT NULL,
    offered_at  TEXT NOT NULL,
    PRIMARY KEY (station_id, version)
);
CREATE TABLE update_reports (
    station_id  TEXT NOT NULL,
    version     TEXT NOT NULL,
    result      TEXT NOT NULL,
    PRIMARY KEY (station_id, version, result)
);`

// Release is one release of the station software.
type Release struct {
	Version, SHA256 string
	Size            int64
	AddedAt         time.Time
	AddedBy         string
	// Tally counts the update results reported for it: group → result
	// (protocol.UpdateCommitted, UpdateRolledBack, UpdateInstallError,
	// UpdateDownloadError) → stations' reports.
	Tally map[string]map[string]int64
}

// UpdateGroup is an update group and its target version ("" for none).
type UpdateGroup struct {
	Name, Target string
	Pilot        bool
	UpdatedAt    time.Time
	UpdatedBy    string
	Stations     int
}

// StationUpdate is what the registry knows of one station's updates.
type StationUpdate struct {
	Station, Group string
	// Version and Slot are what the station runs: its latest report
	// (an update check or its status, whichever came later).
	Version, Slot string
	SeenAt        time.Time
	// State is the update state of its status (protocol.Update*), about
	// StateVersion.
	State, StateVersion string
	// The last update_result the station pushed.
	Result, ResultVersion, ResultFrom, ResultReason string
	ResultAt                                        time.Time
}

// releasesDir is where the bundles are.
func (s *Server) releasesDir() string { return filepath.Join(s.cfg.DataDir, "releases") }

func (s *Server) bundlePath(sum string) string { return filepath.Join(s.releasesDir(), sum+".raucb") }

// AddRelease adds the bundle read from r as the release version, by
// actor (audited in the same transaction): the bytes are copied into the
// releases directory while their SHA-256 is taken. Adding the same
// version with the same bytes again changes nothing; with other bytes it
// is refused (ErrReleaseExists), as is a version that is not a Debian
// version (ErrVersion) or an empty bundle.
func (s *Server) AddRelease(ctx context.Context, version string, r io.Reader, actor string) (Release, error) {
	if err := ValidVersion(version); err != nil {
		return Release{}, errors.Join(ErrInvalid, err)
	}
	if !protocol.ValidUpdateVersion(version) {
		return Release{}, fmt.Errorf("%w: %w: %q: stations take versions of at most 64 letters, digits and . + ~ - without an epoch", ErrInvalid, ErrVersion, version)
	}
	if err := os.MkdirAll(s.releasesDir(), 0o700); err != nil {
		return Release{}, fmt.Errorf("registry: releases: %w", err)
	}
	tmp, err := os.CreateTemp(s.releasesDir(), ".incoming-*")
	if err != nil {
		return Release{}, fmt.Errorf("registry: releases: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up a failure
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return Release{}, fmt.Errorf("registry: release %s: %w", version, err)
	}
	if n == 0 {
		return Release{}, fmt.Errorf("%w: release %s: the bundle is empty", ErrInvalid, version)
	}
	rel := Release{Version: version, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, AddedAt: s.now().UTC(), AddedBy: actor}
	if err := os.Rename(tmp.Name(), s.bundlePath(rel.SHA256)); err != nil {
		return Release{}, fmt.Errorf("registry: release %s: %w", version, err)
	}
	if d, err := os.Open(s.releasesDir()); err == nil {
		_ = d.Sync()
		d.Close()
	}
	pending := &pendingAudit{clk: s.clk, entry: audit.Entry{Kind: "release.add", Actor: actor, Subject: version,
		Detail: map[string]any{"sha256": rel.SHA256, "size": rel.Size, "outcome": "ok"}}}
	var existing Release
	err = s.db.write(withPendingAudit(ctx, pending), func(tx *sql.Tx) error {
		existing = Release{}
		err := tx.QueryRowContext(ctx, `SELECT sha256, size FROM releases WHERE version = ?`, version).Scan(&existing.SHA256, &existing.Size)
		if err == nil {
			if existing.SHA256 != rel.SHA256 {
				return fmt.Errorf("%w: %s has SHA-256 %s", ErrReleaseExists, version, existing.SHA256)
			}
			pending.written = true // nothing to record: it is there
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("registry: release %s: %w", version, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO releases (version, sha256, size, added_at, added_by) VALUES (?, ?, ?, ?, ?)`,
			version, rel.SHA256, rel.Size, ts(rel.AddedAt), actor)
		if err != nil {
			return fmt.Errorf("registry: release %s: %w", version, err)
		}
		return nil
	})
	if err != nil {
		return Release{}, err
	}
	return rel, nil
}

// Releases lists the releases, newest version first, with their tallies.
func (s *Server) Releases(ctx context.Context) ([]Release, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("registry: releases: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	out, err := collect(ctx, tx, `SELECT version, sha256, size, added_at, added_by FROM releases`, func(r *sql.Rows) (Release, error) {
		var rel Release
		var at string
		err := r.Scan(&rel.Version, &rel.SHA256, &rel.Size, &at, &rel.AddedBy)
		rel.AddedAt, rel.Tally = parseTS(at), map[string]map[string]int64{}
		return rel, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: releases: %w", err)
	}
	type tally struct {
		version, grp, result string
		n                    int64
	}
	tallies, err := collect(ctx, tx, `SELECT version, grp, result, n FROM update_tally`, func(r *sql.Rows) (tally, error) {
		var t tally
		return t, r.Scan(&t.version, &t.grp, &t.result, &t.n)
	})
	if err != nil {
		return nil, fmt.Errorf("registry: releases: %w", err)
	}
	for i := range out {
		for _, t := range tallies {
			if t.version == out[i].Version {
				if out[i].Tally[t.grp] == nil {
					out[i].Tally[t.grp] = map[string]int64{}
				}
				out[i].Tally[t.grp][t.result] += t.n
			}
		}
	}
	sortVersionsDesc(out)
	return out, nil
}

func sortVersionsDesc(rs []Release) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && CompareVersions(rs[j].Version, rs[j-1].Version) > 0; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// UpdateGroups lists the groups, pilot groups first, with their station
// counts.
func (s *Server) UpdateGroups(ctx context.Context) ([]UpdateGroup, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("registry: update groups: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	out, err := collect(ctx, tx, `SELECT g.name, g.pilot, g.target, g.updated_at, g.updated_by,
		(SELECT count(*) FROM stations s WHERE coalesce((SELECT u.grp FROM station_updates u WHERE u.station_id = s.id), 'general') = g.name)
		FROM update_groups g ORDER BY g.pilot DESC, g.name`, func(r *sql.Rows) (UpdateGroup, error) {
		var g UpdateGroup
		var at string
		err := r.Scan(&g.Name, &g.Pilot, &g.Target, &at, &g.UpdatedBy, &g.Stations)
		g.UpdatedAt = parseTS(at)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("registry: update groups: %w", err)
	}
	return out, nil
}

// stationGroup is the station's update group (GroupGeneral when never
// moved).
func stationGroup(ctx context.Context, q querier, station string) (string, error) {
	var g string
	err := q.QueryRowContext(ctx, `SELECT grp FROM station_updates WHERE station_id = ?`, station).Scan(&g)
	if errors.Is(err, sql.ErrNoRows) {
		return GroupGeneral, nil
	}
	return g, err
}

// querier is a transaction or a database.
type querier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// SetStationGroup moves station into group (audited by the console's
// action in the same transaction).
func (s *Server) SetStationGroup(ctx context.Context, station, group string) error {
	return s.db.write(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM stations WHERE id = ?`, station).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: station %q", ErrNotFound, station)
		} else if err != nil {
			return fmt.Errorf("registry: station group: %w", err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM update_groups WHERE name = ?`, group).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no update group %q", ErrInvalid, group)
		} else if err != nil {
			return fmt.Errorf("registry: station group: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO station_updates (station_id, grp) VALUES (?, ?)
			ON CONFLICT (station_id) DO UPDATE SET grp = excluded.grp`, station, group); err != nil {
			return fmt.Errorf("registry: station group: %w", err)
		}
		return nil
	})
}

// SetGroupTarget makes version ("" for none) the target of group, by
// actor. The version must be a release; a group that is not a pilot
// group gets it only after the pilot did (ErrPilotFirst, nothing
// changed): a pilot station committed it (its update_result, or its
// status reporting it running and committed) and no pilot station rolled
// it back or refused it.
func (s *Server) SetGroupTarget(ctx context.Context, group, version, actor string) error {
	return s.db.write(ctx, func(tx *sql.Tx) error {
		var pilot bool
		if err := tx.QueryRowContext(ctx, `SELECT pilot FROM update_groups WHERE name = ?`, group).Scan(&pilot); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no update group %q", ErrNotFound, group)
		} else if err != nil {
			return fmt.Errorf("registry: group target: %w", err)
		}
		if version != "" {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM releases WHERE version = ?`, version).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("%w: no release %q", ErrNotFound, version)
			} else if err != nil {
				return fmt.Errorf("registry: group target: %w", err)
			}
			if !pilot {
				ok, bad, err := pilotEvidence(ctx, tx, version)
				if err != nil {
					return err
				}
				if !ok || bad {
					return fmt.Errorf("%w (%s: pilot commit %v, pilot rollback or refusal %v)", ErrPilotFirst, version, ok, bad)
				}
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE update_groups SET target = ?, updated_at = ?, updated_by = ? WHERE name = ?`,
			version, ts(s.now()), actor, group); err != nil {
			return fmt.Errorf("registry: group target: %w", err)
		}
		return nil
	})
}

// pilotEvidence says whether a pilot station committed version (ok) and
// whether one rolled it back or refused it (bad): from the tally of
// update_result events (which counts only results for a release offered
// to the station, in the group it was offered in), and from the status
// of the stations the release was offered to in a pilot group. A
// station's word about a release it was never offered is no evidence:
// with a valid certificate it could otherwise make any release, or one
// not yet added, look piloted.
func pilotEvidence(ctx context.Context, q querier, version string) (ok, bad bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM update_tally t JOIN update_groups g ON g.name = t.grp WHERE g.pilot = 1 AND t.version = ?1 AND t.result = 'committed' AND t.n > 0)
		OR EXISTS (SELECT 1 FROM station_updates u JOIN update_offers o ON o.station_id = u.station_id AND o.version = ?1
			JOIN update_groups g ON g.name = o.grp WHERE g.pilot = 1
			AND u.status_version = ?1 AND u.status_state = 'committed' AND u.status_of IN ('', ?1)),
		EXISTS (SELECT 1 FROM update_tally t JOIN update_groups g ON g.name = t.grp WHERE g.pilot = 1 AND t.version = ?1 AND t.result IN ('rolled_back', 'install_error') AND t.n > 0)
		OR EXISTS (SELECT 1 FROM station_updates u JOIN update_offers o ON o.station_id = u.station_id AND o.version = ?1
			JOIN update_groups g ON g.name = o.grp WHERE g.pilot = 1
			AND u.status_of = ?1 AND u.status_state IN ('rolled_back', 'install_error'))`, version).Scan(&ok, &bad)
	if err != nil {
		return false, false, fmt.Errorf("registry: pilot evidence: %w", err)
	}
	return ok, bad, nil
}

// PilotEvidence is pilotEvidence for the console.
func (s *Server) PilotEvidence(ctx context.Context, version string) (committed, rolledBack bool, err error) {
	return pilotEvidence(ctx, s.db.reader, version)
}

// offerFor is the offer for station, which runs running: the target of
// its group when that is above running; nil when it runs the target or a
// later version, its group has none, or it did not say what it runs.
func offerFor(ctx context.Context, q querier, station, running string) (*protocol.UpdateOffer, error) {
	if running == "" {
		return nil, nil
	}
	grp, err := stationGroup(ctx, q, station)
	if err != nil {
		return nil, fmt.Errorf("registry: update offer: %w", err)
	}
	o := protocol.UpdateOffer{Group: grp}
	err = q.QueryRowContext(ctx, `SELECT r.version, r.sha256, r.size FROM update_groups g JOIN releases r ON r.version = g.target WHERE g.name = ?`, grp).
		Scan(&o.Version, &o.SHA256, &o.Size)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: update offer: %w", err)
	}
	if CompareVersions(o.Version, running) <= 0 { // never a downgrade, nor the version it runs
		return nil, nil
	}
	return &o, nil
}

// CheckUpdate records what station runs (version, slot) and answers its
// offer. A locked station gets ErrStationLocked and nothing is recorded.
func (s *Server) CheckUpdate(ctx context.Context, station, version, slot string) (protocol.UpdateCheckResponse, error) {
	var resp protocol.UpdateCheckResponse
	err := s.db.write(ctx, func(tx *sql.Tx) error {
		resp = protocol.UpdateCheckResponse{}
		locked, err := stationLocked(ctx, tx, station)
		if err != nil {
			return fmt.Errorf("registry: update check: %w", err)
		}
		if locked {
			return ErrStationLocked
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO station_updates (station_id, checked_version, checked_slot, checked_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (station_id) DO UPDATE SET checked_version = excluded.checked_version, checked_slot = excluded.checked_slot, checked_at = excluded.checked_at`,
			station, version, slot, ts(s.now())); err != nil {
			return fmt.Errorf("registry: update check: %w", err)
		}
		resp.Offer, err = offerFor(ctx, tx, station, version)
		if err != nil || resp.Offer == nil {
			return err
		}
		// What was offered, in which group: only a result for it counts
		// in the tally and as pilot evidence (projectUpdateResult).
		if _, err := tx.ExecContext(ctx, `INSERT INTO update_offers (station_id, version, grp, offered_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (station_id, version) DO UPDATE SET grp = excluded.grp, offered_at = excluded.offered_at`,
			station, resp.Offer.Version, resp.Offer.Group, ts(s.now())); err != nil {
			return fmt.Errorf("registry: update check: %w", err)
		}
		return nil
	})
	return resp, err
}

// offeredBundle is the release offered to station now (by what it last
// reported at an update check), when it is version; ErrNotOffered
// otherwise.
func (s *Server) offeredBundle(ctx context.Context, station, version string) (*protocol.UpdateOffer, error) {
	tx, err := s.db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("registry: bundle: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	locked, err := stationLocked(ctx, tx, station)
	if err != nil {
		return nil, fmt.Errorf("registry: bundle: %w", err)
	}
	if locked {
		return nil, ErrStationLocked
	}
	var running string
	if err := tx.QueryRowContext(ctx, `SELECT checked_version FROM station_updates WHERE station_id = ?`, station).Scan(&running); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("registry: bundle: %w", err)
	}
	o, err := offerFor(ctx, tx, station, running)
	if err != nil {
		return nil, err
	}
	if o == nil || o.Version != version {
		return nil, ErrNotOffered
	}
	return o, nil
}

// ErrNotOffered: the bundle asked for is not the one offered to the
// station.
var ErrNotOffered = errors.New("registry: that version is not offered to this station")

func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var req protocol.UpdateCheckRequest
	if err := protocol.ReadRequest(r, &req); err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	if !checkBodyStation(w, r, req.StationID) {
		return
	}
	if len(req.Version) > maxVersionLen || cleanText(req.Version, maxVersionLen) != req.Version || (req.Slot != "" && req.Slot != "A" && req.Slot != "B") {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, "version longer than 128 characters or with control characters, or slot not A or B")
		return
	}
	resp, err := s.CheckUpdate(r.Context(), req.StationID, req.Version, req.Slot)
	if errors.Is(err, ErrStationLocked) {
		protocol.WriteError(w, http.StatusLocked, protocol.CodeStationLocked, "station is locked: no updates until it is unlocked")
		return
	}
	if err != nil {
		s.log.Error("update check failed", "station", req.StationID, "err", err)
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeInternal, "could not check for updates")
		return
	}
	_ = protocol.WriteJSON(w, http.StatusOK, resp)
}

// handleBundle streams the bytes of the bundle offered to the station
// from the request's offset: application/octet-stream, not compressed,
// with its Content-Length.
func (s *Server) handleBundle(w http.ResponseWriter, r *http.Request) {
	var req protocol.BundleRequest
	if err := protocol.ReadRequest(r, &req); err != nil {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, err.Error())
		return
	}
	if !checkBodyStation(w, r, req.StationID) {
		return
	}
	o, err := s.offeredBundle(r.Context(), req.StationID, req.Version)
	switch {
	case errors.Is(err, ErrStationLocked):
		protocol.WriteError(w, http.StatusLocked, protocol.CodeStationLocked, "station is locked: no updates until it is unlocked")
		return
	case errors.Is(err, ErrNotOffered):
		s.log.Warn("bundle asked for that is not offered to the station", "station", req.StationID, "version", req.Version)
		protocol.WriteError(w, http.StatusNotFound, protocol.CodeNotOffered, "that version is not offered to this station")
		return
	case err != nil:
		s.log.Error("bundle failed", "station", req.StationID, "err", err)
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeInternal, "could not read the bundle")
		return
	}
	if req.Offset < 0 || req.Offset > o.Size {
		protocol.WriteError(w, http.StatusBadRequest, protocol.CodeBadRequest, "offset outside the bundle")
		return
	}
	f, err := os.Open(s.bundlePath(o.SHA256))
	var fi os.FileInfo
	if err == nil {
		defer f.Close()
		fi, err = f.Stat()
	}
	if err == nil && fi.Size() != o.Size {
		err = fmt.Errorf("%d bytes on disk, %d recorded", fi.Size(), o.Size)
	}
	if err != nil {
		s.log.Error("bundle file missing or changed (add the release on this instance: registryd release add)", "version", o.Version, "err", err)
		protocol.WriteError(w, http.StatusInternalServerError, protocol.CodeInternal, "the bundle is not available on this registry instance")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(o.Size-req.Offset, 10))
	h.Set(protocol.HeaderProtocol, protocol.Version)
	w.WriteHeader(http.StatusOK)
	if _, err := io.Copy(w, io.NewSectionReader(f, req.Offset, o.Size-req.Offset)); err != nil {
		s.log.Warn("bundle download cut off", "station", req.StationID, "version", o.Version, "err", err)
	}
}

// projectUpdateResult records a station's update_result: its last result
// (the newest by seq) and the release's tally. It runs in the push
// transaction of a newly stored event only. A result counts in the tally
// only for a release that was offered to the station (update_offers),
// in the group it was offered in, and once per station, release and
// result: a station cannot make a release look piloted by reporting one
// it never ran, nor inflate a tally by pushing the same result again.
// The strings are stored cleaned (cleanText): they are the station's
// word, shown on the console.
func projectUpdateResult(ctx context.Context, tx *sql.Tx, station string, seq int64, p protocol.UpdateResultPayload, now string) error {
	switch p.Result {
	case protocol.UpdateCommitted, protocol.UpdateRolledBack, protocol.UpdateInstallError, protocol.UpdateDownloadError:
	default:
		return nil // stored only
	}
	if len(p.Version) > maxVersionLen || p.Version == "" {
		return nil
	}
	grp, err := stationGroup(ctx, tx, station)
	if err != nil {
		return fmt.Errorf("project update result: %w", err)
	}
	at := now
	if !p.At.IsZero() {
		at = ts(p.At)
	}
	version := cleanText(p.Version, maxVersionLen)
	if _, err := tx.ExecContext(ctx, `INSERT INTO station_updates (station_id, grp, result, result_version, result_from, result_slot, result_reason, result_at, result_seq)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
		ON CONFLICT (station_id) DO UPDATE SET result = ?3, result_version = ?4, result_from = ?5, result_slot = ?6, result_reason = ?7, result_at = ?8, result_seq = ?9
		WHERE station_updates.result_seq < ?9`,
		station, grp, p.Result, version, cleanText(p.FromVersion, maxVersionLen), cleanText(p.Slot, 8), cleanText(p.Reason, 500), at, seq); err != nil {
		return fmt.Errorf("project update result: %w", err)
	}
	if version != p.Version {
		return nil // not a version any release has
	}
	var offeredIn string
	err = tx.QueryRowContext(ctx, `SELECT o.grp FROM update_offers o JOIN releases r ON r.version = o.version WHERE o.station_id = ? AND o.version = ?`,
		station, p.Version).Scan(&offeredIn)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // not offered to this station (or no release): its word only
	}
	if err != nil {
		return fmt.Errorf("project update tally: %w", err)
	}
	r, err := tx.ExecContext(ctx, `INSERT INTO update_reports (station_id, version, result) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, station, p.Version, p.Result)
	if err != nil {
		return fmt.Errorf("project update tally: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil || n == 0 {
		return err // counted before
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO update_tally (version, grp, result, n) VALUES (?, ?, ?, 1)
		ON CONFLICT (version, grp, result) DO UPDATE SET n = update_tally.n + 1`, p.Version, offeredIn, p.Result); err != nil {
		return fmt.Errorf("project update tally: %w", err)
	}
	return nil
}

// cleanText is a station's string as the registry stores and shows it:
// valid UTF-8, no control characters, at most max bytes, cut between
// characters (PostgreSQL refuses a NUL or invalid UTF-8 in text, which
// would fail the station's push every time it is retried).
func cleanText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
	for len(s) > max {
		_, n := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-n]
	}
	return s
}

// updateStatusChanged says whether the parts of a status the rollout
// keeps differ.
func updateStatusChanged(a, b protocol.StationStatus) bool {
	if a.Version != b.Version || a.Slot != b.Slot || (a.Update == nil) != (b.Update == nil) {
		return true
	}
	return a.Update != nil && (a.Update.State != b.Update.State || a.Update.Version != b.Update.Version)
}

// recordUpdateStatus stores the version, slot and update state of a
// station's status (latest wins); recordStatus calls it when they
// changed, so the pilot evidence never waits for the status's own
// persisting.
func (s *Server) recordUpdateStatus(ctx context.Context, station string, st protocol.StationStatus) error {
	var state, of string
	if st.Update != nil {
		state, of = st.Update.State, st.Update.Version
	}
	if len(st.Version) > maxVersionLen || len(of) > maxVersionLen || len(st.Slot) > 8 || len(state) > 32 {
		return nil
	}
	version, slot, state, of := cleanText(st.Version, maxVersionLen), cleanText(st.Slot, 8), cleanText(state, 32), cleanText(of, maxVersionLen)
	return s.db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO station_updates (station_id, status_version, status_slot, status_state, status_of, status_at)
			SELECT id, ?, ?, ?, ?, ? FROM stations WHERE id = ?
			ON CONFLICT (station_id) DO UPDATE SET status_version = excluded.status_version, status_slot = excluded.status_slot,
			status_state = excluded.status_state, status_of = excluded.status_of, status_at = excluded.status_at`,
			version, slot, state, of, ts(s.now()), station)
		if err != nil {
			return fmt.Errorf("registry: update status: %w", err)
		}
		return nil
	})
}

// StationUpdates is what the registry knows of every station's updates,
// by station ID.
func (s *Server) StationUpdates(ctx context.Context) (map[string]StationUpdate, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT s.id, coalesce(u.grp, 'general'), coalesce(u.checked_version, ''), coalesce(u.checked_slot, ''), coalesce(u.checked_at, ''),
		coalesce(u.status_version, ''), coalesce(u.status_slot, ''), coalesce(u.status_state, ''), coalesce(u.status_of, ''), coalesce(u.status_at, ''),
		coalesce(u.result, ''), coalesce(u.result_version, ''), coalesce(u.result_from, ''), coalesce(u.result_reason, ''), coalesce(u.result_at, '')
		FROM stations s LEFT JOIN station_updates u ON u.station_id = s.id`)
	if err != nil {
		return nil, fmt.Errorf("registry: station updates: %w", err)
	}
	defer rows.Close()
	out := map[string]StationUpdate{}
	for rows.Next() {
		var u StationUpdate
		var cv, cs, cat, sv, ss, sat, rat string
		if err := rows.Scan(&u.Station, &u.Group, &cv, &cs, &cat, &sv, &ss, &u.State, &u.StateVersion, &sat, &u.Result, &u.ResultVersion, &u.ResultFrom, &u.ResultReason, &rat); err != nil {
			return nil, fmt.Errorf("registry: station updates: %w", err)
		}
		checked, status := parseTS(cat), parseTS(sat)
		u.Version, u.Slot, u.SeenAt = cv, cs, checked
		if status.After(checked) || cv == "" {
			u.Version, u.Slot, u.SeenAt = sv, ss, status
		}
		u.ResultAt = parseTS(rat)
		out[u.Station] = u
	}
	return out, rows.Err()
}

// fillUpdates adds each station's update facts to the stations overview.
func (s *Server) fillUpdates(ctx context.Context, st []StationInfo) error {
	ups, err := s.StationUpdates(ctx)
	if err != nil {
		return err
	}
	for i := range st {
		u, ok := ups[st[i].ID]
		if !ok {
			u = StationUpdate{Station: st[i].ID, Group: GroupGeneral}
		}
		if st[i].Status.Slot != "" && !st[i].LastSeen.Before(u.SeenAt) { // the newer status (kept in memory between writes)
			u.Version, u.Slot = st[i].Status.Version, st[i].Status.Slot
		}
		st[i].Update = u
	}
	return nil
}

// backupReleases copies the release bundles into dir (Backup): every
// release the database copy names has its file, since AddRelease puts
// the file in place before it records the release. Files still being
// added are left out.
func (s *Server) backupReleases(dir string) error {
	entries, err := os.ReadDir(s.releasesDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("registry: backup releases: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("registry: backup releases: %w", err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() && filepath.Ext(e.Name()) == ".raucb" {
			if err := copyFile(filepath.Join(s.releasesDir(), e.Name()), filepath.Join(dir, e.Name()), 0o600); err != nil {
				return fmt.Errorf("registry: backup releases: %w", err)
			}
		}
	}
	return nil
}
