-- 0002: sync bookkeeping for reference data (sync/reconcile, sync/refdata).
--
-- compat: additive
-- Two new columns, one nullable, one NOT NULL with a default: an older
-- binary's inserts and updates of ref_cursors still work. Meaning left
-- behind after a rollback: an older binary does not set complete_at, so the
-- data looks older than it is (the staleness policy errs towards stale).
--
-- complete_at: when this kind was last completely in step with the registry
-- (the last page of a pull applied), by the station clock; the staleness
-- policy measures data age from it.
-- resyncing: 1 while a full resync ("cursor too old", or first sync) is
-- part-way through; the data is then incomplete and must not be relied on.
ALTER TABLE ref_cursors ADD COLUMN complete_at TEXT;
ALTER TABLE ref_cursors ADD COLUMN resyncing INTEGER NOT NULL DEFAULT 0 CHECK (resyncing IN (0, 1));
