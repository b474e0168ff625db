-- Invite templates, invitations, the audit log, and what the member list needs.

-- The member list pages by email within an organization; the email is kept on
-- the membership so that one index serves each filter.
-- `search` holds the lower-cased email and name, so a search scans one index
-- without touching users.
ALTER TABLE memberships ADD COLUMN email TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN search TEXT NOT NULL DEFAULT '';
UPDATE memberships SET
    email = (SELECT email FROM users WHERE users.id = memberships.user_id),
    search = (SELECT LOWER(email || ' ' || first_name || ' ' || last_name) FROM users WHERE users.id = memberships.user_id);
CREATE INDEX memberships_org_email ON memberships (org_id, email, search);
CREATE INDEX memberships_org_role_email ON memberships (org_id, role, email);
CREATE INDEX memberships_org_status_email ON memberships (org_id, status, email);

CREATE TABLE invite_templates (
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    language   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, language)
);

CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    language   TEXT NOT NULL,
    status     TEXT NOT NULL,
    invited_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    ended_at   INTEGER,
    -- The job that sends this invitation's mail, to show its delivery.
    mail_job_id TEXT
);
CREATE INDEX invitations_member ON invitations (org_id, user_id);

CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    actor_id    TEXT,
    actor_email TEXT NOT NULL,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    ip          TEXT
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);

-- Progress of long jobs (bulk invites), visible to the organization that
-- started them.
ALTER TABLE jobs ADD COLUMN org_id TEXT;
ALTER TABLE jobs ADD COLUMN progress_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN progress_done INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN result TEXT;
