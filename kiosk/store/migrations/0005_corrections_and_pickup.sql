-- 0005: receipt corrections (RE-3), the manager's ID document and old
--
-- compat: additive
-- Indexes, a nullable column and a new table. The one new constraint,
-- receipts_corrected_once, only refuses a second correction of the same
-- receipt version, which RE-3 already forbids and no older binary wrote.
-- cards handed in at pickup (seed 003).
--
-- Receipt corrections (RE-3). A receipt is never edited; a
-- correction is a new receipt whose corrects column names the version it
-- replaces. Each version is corrected at most once, so the versions of a
-- receipt form one chain and the newest is the one without a correction.
CREATE UNIQUE INDEX receipts_corrected_once ON receipts(corrects) WHERE corrects IS NOT NULL;
-- The day list reads each issuance's receipt versions, and its period.
CREATE INDEX receipts_issuance ON receipts(issuance_id);
CREATE INDEX issuances_created ON issuances(created_at);

-- Whose ID document a check is: NULL for the recipient's (ID-5), an
-- HSA-ID for the manager present with their own valid ID (ID-4; seed 003:
-- a recipient without an ID document picks up with their manager present).
ALTER TABLE id_document_checks ADD COLUMN holder TEXT;

-- Old cards handed in at the pickup of the new one (seed 003): recorded,
-- voided at the station, their certificates blocked centrally first
-- (BL-2).
CREATE TABLE cards_handed_in (
    card_serial TEXT PRIMARY KEY REFERENCES cards(serial),
    issuance_id TEXT NOT NULL REFERENCES issuances(id),
    new_card    TEXT NOT NULL REFERENCES cards(serial),
    at          TEXT NOT NULL
) STRICT;
