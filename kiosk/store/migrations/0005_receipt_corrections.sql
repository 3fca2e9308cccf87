-- 0005: receipt corrections (RE-3). A receipt is never edited; a
-- correction is a new receipt whose corrects column names the version it
-- replaces. Each version is corrected at most once, so the versions of a
-- receipt form one chain and the newest is the one without a correction.
CREATE UNIQUE INDEX receipts_corrected_once ON receipts(corrects) WHERE corrects IS NOT NULL;
