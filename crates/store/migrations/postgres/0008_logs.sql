-- Troubleshooting logs: the entries apps send, who is logging in detail for a
-- while, and how many entries each credential sent this minute.

-- One entry. Times are Unix milliseconds; level is its rank (0 trace … 5 fatal).
-- Partitioned by day of `time`: the server creates each day's partition ahead
-- (and on demand for late entries) and retention drops whole days.
CREATE SEQUENCE log_entries_id;
CREATE TABLE log_entries (
    id             BIGINT NOT NULL DEFAULT nextval('log_entries_id'),
    org_id         TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    time           BIGINT NOT NULL,
    received_at    BIGINT NOT NULL,
    level          SMALLINT NOT NULL,
    category       TEXT,
    message        TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    solution_id    TEXT,
    user_id        TEXT NOT NULL,
    device_id      TEXT,
    context        TEXT
) PARTITION BY RANGE (time);
CREATE INDEX log_entries_time ON log_entries (org_id, time, id);
CREATE INDEX log_entries_correlation ON log_entries (org_id, correlation_id, time, id);
CREATE INDEX log_entries_user ON log_entries (org_id, user_id, time, id);
CREATE INDEX log_entries_solution ON log_entries (org_id, solution_id, time, id);

-- "Detailed logging for this member until …", set on the member's page.
CREATE TABLE log_level_overrides (
    org_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    level   TEXT NOT NULL,
    until   BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);

-- Entries sent per credential in the current minute (all instances count together).
CREATE TABLE log_rate (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    entries      BIGINT NOT NULL
);

UPDATE organizations SET log_retention_days = 365 WHERE log_retention_days > 365;
