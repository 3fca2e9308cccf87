-- 0004: the registry's policy for this station (snapshot kind
--
-- compat: additive
-- One new table; no row is the fail-closed default.
-- station_policy), read by Store.StationPolicy. At most one row; no row is
-- the fail-closed default: attestors typed in by the operator (not proven
-- by their own SITHS card) are not allowed (AT-1).
CREATE TABLE ref_station_policy (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    typed_attestors INTEGER NOT NULL CHECK (typed_attestors IN (0, 1)),
    updated_at      TEXT NOT NULL
) STRICT;
