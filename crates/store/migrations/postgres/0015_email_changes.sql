-- Email changes waiting for the new address to confirm: only the SHA-256 of
-- the link's token; single use; a newer request replaces the older. Once
-- confirmed, the email's copies in memberships and solution_assignments
-- change with it.
CREATE TABLE email_changes (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    new_email  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX email_changes_user ON email_changes (user_id);
CREATE INDEX email_changes_expires ON email_changes (expires_at);
