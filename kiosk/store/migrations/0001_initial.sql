-- 0001: the station's initial schema.
--
-- compat: breaking
-- (The first schema: software that knows none cannot use it; floor 1.)
--
-- Conventions: times are RFC 3339 UTC text with a clock_source column where
-- the wall clock may be wrong (a Pi boots with a wrong clock until NTP);
-- ordering never depends on them, only on integer sequence numbers.
-- Personal numbers are stored only in persons; every other table refers to
-- a person by id.

CREATE TABLE station_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

-- Authorised issuing administrators, pulled from the registry (AD-1).
CREATE TABLE operators (
    hsa_id     TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    authorised INTEGER NOT NULL DEFAULT 1 CHECK (authorised IN (0, 1)),
    updated_at TEXT NOT NULL
) STRICT;

CREATE TABLE operator_sessions (
    id          TEXT PRIMARY KEY,
    operator    TEXT NOT NULL REFERENCES operators(hsa_id),
    card_serial TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    ended_at    TEXT,
    end_reason  TEXT CHECK (end_reason IN ('logout', 'card_removed', 'idle', 'shutdown', 'locked'))
) STRICT;

CREATE TABLE persons (
    id              INTEGER PRIMARY KEY,
    personal_number TEXT UNIQUE,          -- canonical YYYYMMDDNNNC, NULL when the person has none (ID-4)
    hsa_id          TEXT UNIQUE,
    name            TEXT NOT NULL,
    created_at      TEXT NOT NULL
) STRICT;

CREATE TABLE cards (
    serial          TEXT PRIMARY KEY,     -- the printed card number (RC-9)
    type            TEXT NOT NULL CHECK (type IN ('reserve', 'short_term', 'sis', 'company')),
    state           TEXT NOT NULL CHECK (state IN ('in_stock', 'handed_out', 'approved', 'activated',
                                                   'returned', 'voided', 'blocked', 'expired')),
    holder          INTEGER REFERENCES persons(id),
    valid_from      TEXT,
    valid_until     TEXT,
    pickup_deadline TEXT,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX cards_state ON cards(state);
CREATE INDEX cards_holder ON cards(holder);

CREATE TABLE card_state_changes (
    id          INTEGER PRIMARY KEY,
    card_serial TEXT NOT NULL REFERENCES cards(serial),
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    rule        TEXT,
    reason      TEXT,
    session_id  TEXT REFERENCES operator_sessions(id),
    at          TEXT NOT NULL
) STRICT;

CREATE TABLE stock_movements (
    id           INTEGER PRIMARY KEY,
    card_serial  TEXT NOT NULL REFERENCES cards(serial),
    kind         TEXT NOT NULL CHECK (kind IN ('received', 'handed_out', 'returned', 'voided',
                                               'counted', 'missing', 'sent_back')),
    shipment_ref TEXT,
    session_id   TEXT REFERENCES operator_sessions(id),
    at           TEXT NOT NULL
) STRICT;

CREATE TABLE issuances (
    id           TEXT PRIMARY KEY,        -- station-generated UUID
    kind         TEXT NOT NULL CHECK (kind IN ('reserve', 'extension', 'return', 'pickup', 'block_request', 'void')),
    card_serial  TEXT NOT NULL REFERENCES cards(serial),
    person_id    INTEGER REFERENCES persons(id),
    session_id   TEXT NOT NULL REFERENCES operator_sessions(id),
    reason       TEXT,
    valid_from   TEXT,
    valid_until  TEXT,
    refers_to    TEXT REFERENCES issuances(id),  -- extension/return/correction of an earlier issuance
    created_at   TEXT NOT NULL,
    clock_source TEXT NOT NULL
) STRICT;
CREATE INDEX issuances_person ON issuances(person_id);
CREATE INDEX issuances_card ON issuances(card_serial);

-- The document that identified the recipient (ID-5).
CREATE TABLE id_document_checks (
    id          INTEGER PRIMARY KEY,
    issuance_id TEXT NOT NULL REFERENCES issuances(id),
    doc_type    TEXT NOT NULL,
    doc_number  TEXT NOT NULL,
    expires_on  TEXT NOT NULL,
    intact      INTEGER NOT NULL CHECK (intact IN (0, 1)),
    checked_at  TEXT NOT NULL
) STRICT;

CREATE TABLE attestations (
    id          INTEGER PRIMARY KEY,
    issuance_id TEXT NOT NULL REFERENCES issuances(id),
    attestor    TEXT NOT NULL,            -- HSA-ID
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    signed_at   TEXT NOT NULL,
    UNIQUE (issuance_id, attestor)
) STRICT;

-- Receipts are immutable once signed (RE-3); a correction is a new row
-- that refers to the old one.
CREATE TABLE receipts (
    id          TEXT PRIMARY KEY,
    issuance_id TEXT NOT NULL REFERENCES issuances(id),
    corrects    TEXT REFERENCES receipts(id),
    content     TEXT NOT NULL,            -- JSON of the receipt fields (RE-4)
    signatures  TEXT NOT NULL,            -- JSON vector strokes
    pdf         BLOB NOT NULL,
    pdf_sha256  TEXT NOT NULL,
    signed_at   TEXT NOT NULL,
    print_state TEXT NOT NULL DEFAULT 'pending' CHECK (print_state IN ('pending', 'printing', 'printed', 'failed')),
    printed_at  TEXT
) STRICT;
CREATE TRIGGER receipts_immutable BEFORE UPDATE OF id, issuance_id, corrects, content, signatures, pdf, pdf_sha256, signed_at ON receipts
BEGIN
    SELECT RAISE(ABORT, 'receipts are immutable once signed (RE-3)');
END;
CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts
BEGIN
    SELECT RAISE(ABORT, 'receipts are never deleted (RE-3)');
END;

CREATE TABLE drawer_events (
    id         INTEGER PRIMARY KEY,
    state      TEXT NOT NULL CHECK (state IN ('open', 'closed', 'flapping', 'fault', 'recovered')),
    session_id TEXT REFERENCES operator_sessions(id),
    alarm      INTEGER NOT NULL DEFAULT 0 CHECK (alarm IN (0, 1)),  -- RC-7: opened with no session
    at         TEXT NOT NULL
) STRICT;

-- Everything sync sends. seq is the per-station sequence number; AUTOINCREMENT
-- guarantees it is never reused. Rows are marked acknowledged, never deleted
-- before that.
CREATE TABLE outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    payload      BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    clock_source TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    acked_at     TEXT
) STRICT;
CREATE INDEX outbox_pending ON outbox(seq) WHERE acked_at IS NULL;
CREATE TRIGGER outbox_keep_unacked BEFORE DELETE ON outbox WHEN OLD.acked_at IS NULL
BEGIN
    SELECT RAISE(ABORT, 'an outbox event is never deleted before it is acknowledged');
END;

-- Reference data pulled from the registry, each kind with its cursor.
CREATE TABLE ref_cursors (
    kind         TEXT PRIMARY KEY,
    cursor       TEXT NOT NULL,
    content_hash TEXT,
    updated_at   TEXT NOT NULL            -- when this station last applied a page of this kind
) STRICT;

CREATE TABLE ref_person_facts (
    personal_number TEXT PRIMARY KEY,     -- canonical
    facts           TEXT NOT NULL,        -- JSON: cards, orders, reserve cards across stations (RC-2..4)
    updated_at      TEXT NOT NULL
) STRICT;

CREATE TABLE ref_blocked_cards (
    serial     TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    blocked_at TEXT NOT NULL
) STRICT;

CREATE TABLE ref_stop_windows (
    id       TEXT PRIMARY KEY,
    kind     TEXT NOT NULL CHECK (kind IN ('order_stop', 'total_stop')),
    starts   TEXT NOT NULL,
    ends     TEXT NOT NULL,
    note     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE ref_validity (
    reason   TEXT PRIMARY KEY,
    max_days INTEGER NOT NULL CHECK (max_days > 0)
) STRICT;

CREATE TABLE ref_shipments (
    serial       TEXT PRIMARY KEY,
    card_type    TEXT NOT NULL,
    shipment_ref TEXT NOT NULL,
    shipped_at   TEXT NOT NULL
) STRICT;

CREATE TABLE ref_card_status (
    serial           TEXT PRIMARY KEY,
    state            TEXT NOT NULL,
    receipt_received INTEGER NOT NULL DEFAULT 0 CHECK (receipt_received IN (0, 1)),
    updated_at       TEXT NOT NULL
) STRICT;

-- The append-only audit chain. Each entry's hash covers the previous
-- entry's hash; audit_head holds the newest (seq, hash) so a truncated tail
-- is visible.
CREATE TABLE audit_log (
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
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;
