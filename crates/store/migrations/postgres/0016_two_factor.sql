-- Two-factor sign-in. A person's TOTP secret is kept sealed with the server
-- key (never in clear); it is pending until a first code confirms it.
-- last_step is the time step of the last code accepted, so each code works
-- once. Recovery codes: only their SHA-256, each usable once.
CREATE TABLE totp_secrets (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_sealed TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT,
    last_step     BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at   BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
-- 1: owners and admins must sign in with two factors to use Management.
ALTER TABLE organizations ADD COLUMN require_two_factor BIGINT NOT NULL DEFAULT 0;
