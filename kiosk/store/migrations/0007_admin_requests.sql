-- 0006: changes of administrators asked for at this station (AD-2), and
--
-- compat: additive
-- One new table. Meaning left behind after a rollback: an older binary does
-- not read it, so a removal asked for at this station and still pending is
-- not in force there until the registry's operators snapshot drops the
-- administrator (AD-2).
-- those the registry made for it, with where each stands. A removal asked
-- for here takes effect at once: the administrator is not authorised at
-- this station while it is pending (rules.PlanAdminChange: RevokeLocally),
-- and again if the registry rejects it.
CREATE TABLE admin_requests (
    id            TEXT PRIMARY KEY,
    source        TEXT NOT NULL CHECK (source IN ('station', 'console')),
    change        TEXT NOT NULL CHECK (change IN ('appointed', 'removed')),
    admin         TEXT NOT NULL,
    name          TEXT NOT NULL,
    manager       TEXT NOT NULL DEFAULT '',
    operator      TEXT NOT NULL DEFAULT '',
    session_id    TEXT,
    requested_at  TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason        TEXT NOT NULL DEFAULT '',
    decided_at    TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX admin_requests_pending ON admin_requests(status, change, admin);
