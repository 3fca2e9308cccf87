-- 0003: SITHS trust material pulled from the registry (snapshot kinds
--
-- compat: additive
-- Two new tables, which an older binary never reads.
-- trust_intermediates and crls), read parsed by Store.TrustMaterial for
-- kiosk/trust. The trust anchors are not here: they are pinned in the
-- station's configuration.
--
-- fingerprint: hex SHA-256 of the DER. The columns beside der are for
-- the status screen and the log; kiosk/trust reads only der.
CREATE TABLE ref_trust_intermediates (
    fingerprint TEXT PRIMARY KEY,
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    der         BLOB NOT NULL
) STRICT;

CREATE TABLE ref_crls (
    fingerprint TEXT PRIMARY KEY,
    issuer      TEXT NOT NULL,
    this_update TEXT NOT NULL,
    next_update TEXT NOT NULL,
    der         BLOB NOT NULL
) STRICT;
