package registry

// The registry's schema in both dialects, side by side: SQLite (the
// embedded default) and PostgreSQL (dialect.go). Each step is one
// schemaStep; the SQLite text is what registries have always run, the
// PostgreSQL text is the same tables where the dialects must differ:
// no STRICT, BIGINT for INTEGER (64-bit like SQLite's), BYTEA for BLOB,
// identity columns for AUTOINCREMENT, and PL/pgSQL triggers for the
// append-only tables. TestSchemaParity checks that both give the same
// tables, columns and indexes.
//
// rev is one counter for every change to reference data: each changed
// row takes the next value inside its write transaction, and writers are
// serialised (SQLite: one writer; PostgreSQL: a transaction-level
// advisory lock, db.write), so a reader never sees rev N+1 committed
// without every rev ≤ N. That is what makes cursors exact.

// schemaStep is one step of the schema in both dialects.
type schemaStep struct {
	sqlite, postgres string
}

// baseSchema is version 0: CREATE … IF NOT EXISTS, run at every open, so
// tables added to it before the migrations existed reach old registries
// too. A change after version 0 goes into migrations, never here.
//
// person_serials indexes the serials a person's facts mention (role
// regular, order or reserve; station when the document names one);
// person_links says which stations receive the person's facts. Links are
// only added: a station keeps receiving (at least the tombstone of) a
// person it once held.
var baseSchema = schemaStep{sqlite: `
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;

CREATE TABLE IF NOT EXISTS stations (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    cert_serial  TEXT,
    enrolled_at  TEXT,
    locked       INTEGER NOT NULL DEFAULT 0,
    last_seen    TEXT,
    status       TEXT NOT NULL DEFAULT '{}'
) STRICT;

CREATE TABLE IF NOT EXISTS enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;

-- Every event a station pushed, kept forever. Idempotent by (station, id)
-- and by (station, seq).
CREATE TABLE IF NOT EXISTS events (
    station_id   TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    event_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    clock_source TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (station_id, event_id),
    UNIQUE (station_id, seq)
) STRICT;
CREATE TRIGGER IF NOT EXISTS events_keep BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'pushed events are kept forever'); END;

CREATE TABLE IF NOT EXISTS issuances (
    id          TEXT PRIMARY KEY,
    station_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    valid_until TEXT NOT NULL DEFAULT '',
    decision    TEXT NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'approved', 'rejected')),
    decided_at  TEXT,
    received_at TEXT NOT NULL
) STRICT;

-- RC-7 drawer alarms (drawer_alarm events), for the station status.
-- at is the station's time of the alarm, fixed width.
CREATE TABLE IF NOT EXISTS drawer_alarms (
    station_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    found_open  INTEGER NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
) STRICT;
CREATE INDEX IF NOT EXISTS drawer_alarms_at ON drawer_alarms(station_id, at);

CREATE TABLE IF NOT EXISTS commands (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at   TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS commands_station ON commands(station_id, id);

CREATE TABLE IF NOT EXISTS operators (hsa_id TEXT PRIMARY KEY, name TEXT NOT NULL, authorised INTEGER NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS blocked_cards (serial TEXT PRIMARY KEY, reason TEXT NOT NULL, blocked_at TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS stop_windows (id TEXT PRIMARY KEY, kind TEXT NOT NULL, starts TEXT NOT NULL, ends TEXT NOT NULL, note TEXT NOT NULL) STRICT;
CREATE TABLE IF NOT EXISTS validity (reason TEXT PRIMARY KEY, max_days INTEGER NOT NULL CHECK (max_days > 0)) STRICT;

-- SITHS trust material for the stations' kiosk/trust (snapshot kinds
-- trust_intermediates and crls). fingerprint: hex SHA-256 of the DER.
-- One CRL per issuing CA: issuer_key is hex SHA-256 of the CRL's raw
-- issuer name and authority key ID; a newer CRL replaces the older.
CREATE TABLE IF NOT EXISTS trust_intermediates (
    fingerprint TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    der         BLOB NOT NULL,
    added_at    TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS crls (
    issuer_key  TEXT PRIMARY KEY,
    issuer      TEXT NOT NULL,
    number      TEXT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    entries     INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    der         BLOB NOT NULL,
    added_at    TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS person_facts (
    personal_number TEXT PRIMARY KEY,
    facts   TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    rev     INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS person_facts_rev ON person_facts(rev);

CREATE TABLE IF NOT EXISTS shipments (
    serial       TEXT PRIMARY KEY,
    station_id   TEXT NOT NULL,
    card_type    TEXT NOT NULL,
    shipment_ref TEXT NOT NULL,
    shipped_at   TEXT NOT NULL,
    deleted      INTEGER NOT NULL DEFAULT 0,
    rev          INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS shipments_rev ON shipments(station_id, rev);

CREATE TABLE IF NOT EXISTS card_status (
    serial           TEXT PRIMARY KEY,
    station_id       TEXT NOT NULL,
    state            TEXT NOT NULL,
    receipt_received INTEGER NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL,
    deleted          INTEGER NOT NULL DEFAULT 0,
    rev              INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS card_status_rev ON card_status(station_id, rev);

CREATE TABLE IF NOT EXISTS revoked_certs (
    serial     TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    reason     TEXT NOT NULL
) STRICT;

-- Enrolment codes that may replace a station's current certificate.
CREATE TABLE IF NOT EXISTS enrol_replace (code_hash TEXT PRIMARY KEY) STRICT;

-- Pushed events that were stored but not applied: the station may not do
-- what they say. For central review.
CREATE TABLE IF NOT EXISTS review_items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    card_serial TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (station_id, seq)
) STRICT;
-- A case officer's decision on a held event (console_review.go).
CREATE TABLE IF NOT EXISTS review_decisions (
    item_id    INTEGER PRIMARY KEY REFERENCES review_items (id),
    decision   TEXT NOT NULL CHECK (decision IN ('applied', 'rejected')),
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    decided_at TEXT NOT NULL
) STRICT;

-- Audit anchoring: every checkpoint a station pushed, its highest one,
-- and the alarms raised when a checkpoint went backwards or forked.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    station_id  TEXT NOT NULL,
    event_seq   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, event_seq)
) STRICT;
CREATE TABLE IF NOT EXISTS audit_heads (
    station_id TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    event_seq  INTEGER NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
-- Checkpoints not anchored: unsigned, or not signed by the station's key.
CREATE TABLE IF NOT EXISTS audit_refused_checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id  TEXT NOT NULL,
    event_seq   INTEGER NOT NULL,
    why         TEXT NOT NULL CHECK (why IN ('unsigned', 'bad_signature')),
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;
-- The certificates the registry issued to stations (DER), to verify
-- what a station signed outside the TLS connection it came on.
CREATE TABLE IF NOT EXISTS station_certs (
    serial     TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    der        BLOB NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS audit_alarms (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    station_id  TEXT NOT NULL,
    event_seq   INTEGER NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('backwards', 'fork')),
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    head_seq    INTEGER NOT NULL,
    head_hash   TEXT NOT NULL,
    received_at TEXT NOT NULL
) STRICT;

CREATE TABLE IF NOT EXISTS person_serials (
    serial          TEXT NOT NULL,
    personal_number TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('regular', 'order', 'reserve')),
    station_id      TEXT NOT NULL DEFAULT '',
    valid_until     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (serial, personal_number, role)
) STRICT;
CREATE INDEX IF NOT EXISTS person_serials_pnr ON person_serials(personal_number);
CREATE TABLE IF NOT EXISTS person_links (
    station_id      TEXT NOT NULL,
    personal_number TEXT NOT NULL,
    PRIMARY KEY (station_id, personal_number)
) STRICT;
CREATE INDEX IF NOT EXISTS person_links_pnr ON person_links(personal_number);
`, postgres: `
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

CREATE TABLE IF NOT EXISTS stations (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL DEFAULT '',
    cert_serial  TEXT,
    enrolled_at  TEXT,
    locked       BIGINT NOT NULL DEFAULT 0,
    last_seen    TEXT,
    status       TEXT NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS enrol_codes (
    code_hash  TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

-- Every event a station pushed, kept forever. Idempotent by (station, id)
-- and by (station, seq).
CREATE TABLE IF NOT EXISTS events (
    station_id   TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    event_id     TEXT NOT NULL,
    kind         TEXT NOT NULL,
    payload      BYTEA NOT NULL,
    created_at   TEXT NOT NULL,
    clock_source TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (station_id, event_id),
    UNIQUE (station_id, seq)
);
CREATE OR REPLACE FUNCTION registry_append_only() RETURNS trigger LANGUAGE plpgsql
AS $$ BEGIN RAISE EXCEPTION '%', TG_ARGV[0]; END $$;
CREATE OR REPLACE TRIGGER events_keep BEFORE DELETE ON events
FOR EACH ROW EXECUTE FUNCTION registry_append_only('pushed events are kept forever');
CREATE OR REPLACE TRIGGER events_keep_truncate BEFORE TRUNCATE ON events
FOR EACH STATEMENT EXECUTE FUNCTION registry_append_only('pushed events are kept forever');

CREATE TABLE IF NOT EXISTS issuances (
    id          TEXT PRIMARY KEY,
    station_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    valid_until TEXT NOT NULL DEFAULT '',
    decision    TEXT NOT NULL DEFAULT 'pending' CHECK (decision IN ('pending', 'approved', 'rejected')),
    decided_at  TEXT,
    received_at TEXT NOT NULL
);

-- RC-7 drawer alarms (drawer_alarm events), for the station status.
-- at is the station's time of the alarm, fixed width.
CREATE TABLE IF NOT EXISTS drawer_alarms (
    station_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    at          TEXT NOT NULL,
    found_open  BIGINT NOT NULL DEFAULT 0,
    received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, seq)
);
CREATE INDEX IF NOT EXISTS drawer_alarms_at ON drawer_alarms(station_id, at);

CREATE TABLE IF NOT EXISTS commands (
    id         BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    station_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acked_at   TEXT
);
CREATE INDEX IF NOT EXISTS commands_station ON commands(station_id, id);

CREATE TABLE IF NOT EXISTS operators (hsa_id TEXT PRIMARY KEY, name TEXT NOT NULL, authorised BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS blocked_cards (serial TEXT PRIMARY KEY, reason TEXT NOT NULL, blocked_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stop_windows (id TEXT PRIMARY KEY, kind TEXT NOT NULL, starts TEXT NOT NULL, ends TEXT NOT NULL, note TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS validity (reason TEXT PRIMARY KEY, max_days BIGINT NOT NULL CHECK (max_days > 0));

-- SITHS trust material for the stations' kiosk/trust (snapshot kinds
-- trust_intermediates and crls). fingerprint: hex SHA-256 of the DER.
-- One CRL per issuing CA: issuer_key is hex SHA-256 of the CRL's raw
-- issuer name and authority key ID; a newer CRL replaces the older.
CREATE TABLE IF NOT EXISTS trust_intermediates (
    fingerprint TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    der         BYTEA NOT NULL,
    added_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS crls (
    issuer_key  TEXT PRIMARY KEY,
    issuer      TEXT NOT NULL,
    number      TEXT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    entries     BIGINT NOT NULL,
    fingerprint TEXT NOT NULL,
    der         BYTEA NOT NULL,
    added_at    TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS person_facts (
    personal_number TEXT PRIMARY KEY,
    facts   TEXT NOT NULL,
    deleted BIGINT NOT NULL DEFAULT 0,
    rev     BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS person_facts_rev ON person_facts(rev);

CREATE TABLE IF NOT EXISTS shipments (
    serial       TEXT PRIMARY KEY,
    station_id   TEXT NOT NULL,
    card_type    TEXT NOT NULL,
    shipment_ref TEXT NOT NULL,
    shipped_at   TEXT NOT NULL,
    deleted      BIGINT NOT NULL DEFAULT 0,
    rev          BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS shipments_rev ON shipments(station_id, rev);

CREATE TABLE IF NOT EXISTS card_status (
    serial           TEXT PRIMARY KEY,
    station_id       TEXT NOT NULL,
    state            TEXT NOT NULL,
    receipt_received BIGINT NOT NULL DEFAULT 0,
    updated_at       TEXT NOT NULL,
    deleted          BIGINT NOT NULL DEFAULT 0,
    rev              BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS card_status_rev ON card_status(station_id, rev);

CREATE TABLE IF NOT EXISTS revoked_certs (
    serial     TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    revoked_at TEXT NOT NULL,
    reason     TEXT NOT NULL
);

-- Enrolment codes that may replace a station's current certificate.
CREATE TABLE IF NOT EXISTS enrol_replace (code_hash TEXT PRIMARY KEY);

-- Pushed events that were stored but not applied: the station may not do
-- what they say. For central review.
CREATE TABLE IF NOT EXISTS review_items (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    station_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    event_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    card_serial TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    UNIQUE (station_id, seq)
);
-- A case officer's decision on a held event (console_review.go).
CREATE TABLE IF NOT EXISTS review_decisions (
    item_id    BIGINT PRIMARY KEY REFERENCES review_items (id),
    decision   TEXT NOT NULL CHECK (decision IN ('applied', 'rejected')),
    reason     TEXT NOT NULL,
    actor      TEXT NOT NULL,
    decided_at TEXT NOT NULL
);

-- Audit anchoring: every checkpoint a station pushed, its highest one,
-- and the alarms raised when a checkpoint went backwards or forked.
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    station_id  TEXT NOT NULL,
    event_seq   BIGINT NOT NULL,
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (station_id, event_seq)
);
CREATE TABLE IF NOT EXISTS audit_heads (
    station_id TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    hash       TEXT NOT NULL,
    event_seq  BIGINT NOT NULL,
    updated_at TEXT NOT NULL
);
-- Checkpoints not anchored: unsigned, or not signed by the station's key.
CREATE TABLE IF NOT EXISTS audit_refused_checkpoints (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    station_id  TEXT NOT NULL,
    event_seq   BIGINT NOT NULL,
    why         TEXT NOT NULL CHECK (why IN ('unsigned', 'bad_signature')),
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    received_at TEXT NOT NULL
);
-- The certificates the registry issued to stations (DER), to verify
-- what a station signed outside the TLS connection it came on.
CREATE TABLE IF NOT EXISTS station_certs (
    serial     TEXT PRIMARY KEY,
    station_id TEXT NOT NULL,
    der        BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_alarms (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    station_id  TEXT NOT NULL,
    event_seq   BIGINT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('backwards', 'fork')),
    seq         BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    head_seq    BIGINT NOT NULL,
    head_hash   TEXT NOT NULL,
    received_at TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS person_serials (
    serial          TEXT NOT NULL,
    personal_number TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('regular', 'order', 'reserve')),
    station_id      TEXT NOT NULL DEFAULT '',
    valid_until     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (serial, personal_number, role)
);
CREATE INDEX IF NOT EXISTS person_serials_pnr ON person_serials(personal_number);
CREATE TABLE IF NOT EXISTS person_links (
    station_id      TEXT NOT NULL,
    personal_number TEXT NOT NULL,
    PRIMARY KEY (station_id, personal_number)
);
CREATE INDEX IF NOT EXISTS person_links_pnr ON person_links(personal_number);
`}

// migrations change the schema after the base schema above, an
// append-only list: migrations[i] brings the database from version i to
// i+1, in one transaction with the version bump (SQLite: user_version;
// PostgreSQL: the schema_version table).
var migrations = []schemaStep{
	// 1: the registry's policy per station (snapshot kind station_policy;
	// each station pulls only its own row, none means the fail-closed
	// default), and how each issuance's recipient was identified (AT-1,
	// ID-6), for the CP-1 approval view: the attestation ground on the
	// issuance, each attestor with how they proved who they are
	// (siths_card or typed), in the station's order.
	{sqlite: `CREATE TABLE station_policies (
    station_id      TEXT PRIMARY KEY,
    typed_attestors INTEGER NOT NULL DEFAULT 0 CHECK (typed_attestors IN (0, 1)),
    updated_at      TEXT NOT NULL
) STRICT;
ALTER TABLE issuances ADD COLUMN attestation_ground TEXT NOT NULL DEFAULT '';
CREATE TABLE issuance_attestors (
    issuance_id TEXT NOT NULL,
    pos         INTEGER NOT NULL,
    hsa_id      TEXT NOT NULL,
    proof       TEXT NOT NULL,
    PRIMARY KEY (issuance_id, pos)
) STRICT;`, postgres: `CREATE TABLE station_policies (
    station_id      TEXT PRIMARY KEY,
    typed_attestors BIGINT NOT NULL DEFAULT 0 CHECK (typed_attestors IN (0, 1)),
    updated_at      TEXT NOT NULL
);
ALTER TABLE issuances ADD COLUMN attestation_ground TEXT NOT NULL DEFAULT '';
CREATE TABLE issuance_attestors (
    issuance_id TEXT NOT NULL,
    pos         BIGINT NOT NULL,
    hsa_id      TEXT NOT NULL,
    proof       TEXT NOT NULL,
    PRIMARY KEY (issuance_id, pos)
);`},
	// 2: the central console's audit trail (adminaudit.go): append-only
	// (no UPDATE, no DELETE), hash-chained by kiosk/audit, its head kept
	// beside it so a cut-off tail is found too.
	{sqlite: `CREATE TABLE admin_audit (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    clock_source TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
) STRICT;
CREATE TRIGGER admin_audit_no_update BEFORE UPDATE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'the admin audit trail is append-only'); END;
CREATE TRIGGER admin_audit_no_delete BEFORE DELETE ON admin_audit
BEGIN SELECT RAISE(ABORT, 'the admin audit trail is append-only'); END;
CREATE TABLE admin_audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;`, postgres: `CREATE TABLE admin_audit (
    seq          BIGINT PRIMARY KEY,
    at           TEXT NOT NULL,
    clock_source TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor        TEXT NOT NULL,
    subject      TEXT NOT NULL,
    detail       TEXT NOT NULL,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE TRIGGER admin_audit_no_update BEFORE UPDATE OR DELETE ON admin_audit
FOR EACH ROW EXECUTE FUNCTION registry_append_only('the admin audit trail is append-only');
CREATE TRIGGER admin_audit_no_truncate BEFORE TRUNCATE ON admin_audit
FOR EACH STATEMENT EXECUTE FUNCTION registry_append_only('the admin audit trail is append-only');
CREATE TABLE admin_audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);`},
	// 3: deadlines that act and notifications that arrive (issue 14,
	// deadlines.go, notify.go).
	{sqlite: `CREATE TABLE card_loans (
    serial          TEXT PRIMARY KEY,
    station_id      TEXT NOT NULL,
    issuance_id     TEXT NOT NULL,
    card_type       TEXT NOT NULL,
    personal_number TEXT NOT NULL DEFAULT '',
    issued_at       TEXT NOT NULL,
    valid_until     TEXT NOT NULL DEFAULT '',
    receipt_at      TEXT NOT NULL DEFAULT '',
    returned_at     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX card_loans_pnr ON card_loans(personal_number);
CREATE INDEX card_loans_issuance ON card_loans(issuance_id);
CREATE TABLE deadline_blocks (
    card_serial TEXT NOT NULL,
    issuance_id TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    blocked_at  TEXT NOT NULL,
    PRIMARY KEY (card_serial, issuance_id)
) STRICT;
CREATE TABLE deviations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    rule           TEXT NOT NULL,
    card_serial    TEXT NOT NULL,
    issuance_id    TEXT NOT NULL,
    station_id     TEXT NOT NULL,
    key            TEXT NOT NULL,
    since          TEXT NOT NULL,
    detected_at    TEXT NOT NULL,
    returned_at    TEXT NOT NULL DEFAULT '',
    followed_up_at TEXT NOT NULL DEFAULT '',
    followed_up_by TEXT NOT NULL DEFAULT '',
    note           TEXT NOT NULL DEFAULT '',
    UNIQUE (rule, card_serial, issuance_id)
) STRICT;
CREATE TABLE certificate_blocks (
    card_serial TEXT NOT NULL,
    issuance_id TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    returned_at TEXT NOT NULL,
    blocked_at  TEXT NOT NULL,
    PRIMARY KEY (card_serial, issuance_id)
) STRICT;
CREATE TABLE contacts (
    addressee TEXT PRIMARY KEY,
    email     TEXT NOT NULL,
    lang      TEXT NOT NULL DEFAULT 'sv' CHECK (lang IN ('sv', 'en'))
) STRICT;
CREATE TABLE mail_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup       TEXT NOT NULL UNIQUE,
    event       TEXT NOT NULL,
    role        TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    to_addr     TEXT NOT NULL,
    lang        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'logged', 'failed', 'no_address')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     TEXT NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    sent_at     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX mail_outbox_due ON mail_outbox(state, next_at);
CREATE TABLE job_runs (
    job        TEXT PRIMARY KEY,
    runs       INTEGER NOT NULL,
    last_run   TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    effects    INTEGER NOT NULL DEFAULT 0
) STRICT;`, postgres: `CREATE TABLE card_loans (
    serial          TEXT PRIMARY KEY,
    station_id      TEXT NOT NULL,
    issuance_id     TEXT NOT NULL,
    card_type       TEXT NOT NULL,
    personal_number TEXT NOT NULL DEFAULT '',
    issued_at       TEXT NOT NULL,
    valid_until     TEXT NOT NULL DEFAULT '',
    receipt_at      TEXT NOT NULL DEFAULT '',
    returned_at     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX card_loans_pnr ON card_loans(personal_number);
CREATE INDEX card_loans_issuance ON card_loans(issuance_id);
CREATE TABLE deadline_blocks (
    card_serial TEXT NOT NULL,
    issuance_id TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    deadline    TEXT NOT NULL,
    blocked_at  TEXT NOT NULL,
    PRIMARY KEY (card_serial, issuance_id)
);
CREATE TABLE deviations (
    id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    rule           TEXT NOT NULL,
    card_serial    TEXT NOT NULL,
    issuance_id    TEXT NOT NULL,
    station_id     TEXT NOT NULL,
    key            TEXT NOT NULL,
    since          TEXT NOT NULL,
    detected_at    TEXT NOT NULL,
    returned_at    TEXT NOT NULL DEFAULT '',
    followed_up_at TEXT NOT NULL DEFAULT '',
    followed_up_by TEXT NOT NULL DEFAULT '',
    note           TEXT NOT NULL DEFAULT '',
    UNIQUE (rule, card_serial, issuance_id)
);
CREATE TABLE certificate_blocks (
    card_serial TEXT NOT NULL,
    issuance_id TEXT NOT NULL,
    station_id  TEXT NOT NULL,
    returned_at TEXT NOT NULL,
    blocked_at  TEXT NOT NULL,
    PRIMARY KEY (card_serial, issuance_id)
);
CREATE TABLE contacts (
    addressee TEXT PRIMARY KEY,
    email     TEXT NOT NULL,
    lang      TEXT NOT NULL DEFAULT 'sv' CHECK (lang IN ('sv', 'en'))
);
CREATE TABLE mail_outbox (
    id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    dedup       TEXT NOT NULL UNIQUE,
    event       TEXT NOT NULL,
    role        TEXT NOT NULL,
    card_serial TEXT NOT NULL,
    to_addr     TEXT NOT NULL,
    lang        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'logged', 'failed', 'no_address')),
    attempts    BIGINT NOT NULL DEFAULT 0,
    next_at     TEXT NOT NULL,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL,
    sent_at     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_outbox_due ON mail_outbox(state, next_at);
CREATE TABLE job_runs (
    job        TEXT PRIMARY KEY,
    runs       BIGINT NOT NULL,
    last_run   TEXT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    effects    BIGINT NOT NULL DEFAULT 0
);`},
	// 4: the index for the console's search, reports and approval
	// evidence (issue 14, items 1, 7, 8; index.go). On PostgreSQL the name
	// keys compare bytewise (COLLATE "C"), as the prefix search's ranges
	// expect.
	{sqlite: indexMigration, postgres: indexMigrationPostgres},
	// 5: changes of administrators (AD-2) and per-station authorisation
	// (AD-1; admins.go).
	{sqlite: adminsMigration, postgres: adminsMigrationPostgres},
	// 6: reserve cards issued by registered mail (issue 14, item 6;
	// regmail.go): one row per envelope, its state, who did each step,
	// and the returned signed receipt's scan, archived with the record.
	// A serial is in at most one envelope that is not cancelled.
	{sqlite: regmailSchema, postgres: regmailSchemaPostgres},
	// 7: the record of on-demand person look-ups and each station's
	// look-up allowance (issue 12 item 5; lookup.go).
	{sqlite: lookupMigration, postgres: lookupMigrationPostgres},
	// 8: staged rollout (issue 16 item 3; rollout.go): update groups
	// (general and pilot) with their target versions, releases (the
	// bundle is a file under the data directory), what each station
	// reported and the tally of update results per release and group.
	{sqlite: rolloutMigration, postgres: rolloutMigrationPostgres},
	// 9: the rollout's evidence (rollout.go): which release was offered
	// to which station in which group, and which station reported which
	// result for it, so a result counts only for a release offered to
	// that station, once per station.
	{sqlite: rolloutEvidenceMigration, postgres: rolloutEvidenceMigrationPostgres},
}
