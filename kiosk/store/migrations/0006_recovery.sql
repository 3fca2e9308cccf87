-- 0005: recovery after a crash, and retention of personal data.
--
-- compat: additive
-- Nullable columns and partial indexes; receipts_immutable is replaced by
-- a trigger that allows one more change (the redaction), never fewer, so
-- every write an older binary makes still passes. Meaning left behind
-- after a rollback: an older binary does not redact, and shows a receipt
-- that was redacted as one without content.
--
-- receipts.print_job: the printer's job ID once a receipt is queued, so a
-- station restarted while it printed can ask the printer how the job went
-- instead of printing it twice.
-- receipts.redacted_at: when retention removed the receipt's personal data
-- (content, signature strokes, PDF). The row, its ID, its issuance and its
-- PDF hash stay: the audit chain and the registry's legal copy refer to
-- them.
-- outbox.archived_at: when the registry confirmed that it archived the
-- event's payload (Ack.archived, for receipt events); retention starts
-- counting from it.
ALTER TABLE receipts ADD COLUMN print_job INTEGER;
ALTER TABLE receipts ADD COLUMN redacted_at TEXT;
ALTER TABLE outbox ADD COLUMN archived_at TEXT;
ALTER TABLE outbox ADD COLUMN redacted_at TEXT;

-- A receipt stays immutable (RE-3) except for one change: its redaction,
-- which empties content, signatures and PDF once and keeps every
-- identifying column and the PDF's hash.
DROP TRIGGER receipts_immutable;
CREATE TRIGGER receipts_immutable BEFORE UPDATE OF id, issuance_id, corrects, content, signatures, pdf, pdf_sha256, signed_at, redacted_at ON receipts
WHEN NOT (OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
          AND NEW.id = OLD.id AND NEW.issuance_id = OLD.issuance_id AND NEW.corrects IS OLD.corrects
          AND NEW.pdf_sha256 = OLD.pdf_sha256 AND NEW.signed_at = OLD.signed_at
          AND NEW.content = '{"redacted":true}' AND NEW.signatures = '[]' AND length(NEW.pdf) = 0)
BEGIN
    SELECT RAISE(ABORT, 'receipts are immutable once signed (RE-3)');
END;

CREATE INDEX receipts_print_state ON receipts(print_state) WHERE print_state != 'printed' AND redacted_at IS NULL;
CREATE INDEX outbox_retention ON outbox(archived_at) WHERE archived_at IS NOT NULL AND redacted_at IS NULL;
