-- Usage metrics: the events the server and apps record, and their rollup per
-- UTC day. Days are numbered from 1970-01-01; times are Unix milliseconds.

-- One event, or (for API calls, error log entries and deliveries) a count of
-- them. `user_id` is the person who acted; `name` is a custom event's name or
-- the token an API call used.
CREATE TABLE usage_events (
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day         INTEGER NOT NULL,
    time        BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    name        TEXT,
    solution_id TEXT,
    user_id     TEXT,
    count       BIGINT NOT NULL DEFAULT 1,
    properties  TEXT
);
-- The rollup reads an organization's day; retention deletes its old days; the
-- Overview counts a kind over a day or two.
CREATE INDEX usage_events_day ON usage_events (org_id, day, kind);

-- A small number for each person, so a day's active users are a compact set.
CREATE TABLE usage_people (
    ordinal INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE
);

-- A day's figures for the organization (solution_id '') and for each solution.
-- `active` is the set of people active that day (a serialized roaring bitmap of
-- their ordinals), so a period's active users are a union, not a sum.
CREATE TABLE usage_daily (
    org_id                  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    solution_id             TEXT NOT NULL,
    day                     INTEGER NOT NULL,
    active_users            BIGINT NOT NULL,
    sign_ins                BIGINT NOT NULL,
    solution_opens          BIGINT NOT NULL,
    screen_views            BIGINT NOT NULL,
    notification_opens      BIGINT NOT NULL,
    api_calls               BIGINT NOT NULL,
    error_logs              BIGINT NOT NULL,
    invitations_sent        BIGINT NOT NULL,
    invitations_accepted    BIGINT NOT NULL,
    notifications_sent      BIGINT NOT NULL,
    notifications_delivered BIGINT NOT NULL,
    custom_events           BIGINT NOT NULL,
    active                  BLOB NOT NULL,
    rolled_at               BIGINT NOT NULL,
    PRIMARY KEY (org_id, solution_id, day)
);

-- A day's custom events by name.
CREATE TABLE usage_custom_daily (
    org_id      TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    solution_id TEXT NOT NULL,
    day         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    count       BIGINT NOT NULL,
    PRIMARY KEY (org_id, solution_id, day, name)
);

-- The last day rolled up after it ended; the days after it are rolled up again.
CREATE TABLE usage_rollup_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    closed_through INTEGER NOT NULL
);

-- An organization's days before the one an event arrived on (an app that was
-- offline), to roll up again.
CREATE TABLE usage_late_days (
    org_id    TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    day       INTEGER NOT NULL,
    marked_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, day)
);

ALTER TABLE organizations ADD COLUMN usage_retention_days INTEGER NOT NULL DEFAULT 90;
-- The first day whose raw events retention has not deleted: the days before it
-- are final, so no event is taken for them and no rollup rewrites them.
ALTER TABLE organizations ADD COLUMN usage_kept_from INTEGER NOT NULL DEFAULT 0;

-- A rollup is queued every minute: finding the one waiting and forgetting
-- the ones done reads a kind's jobs, not every job.
CREATE INDEX jobs_kind ON jobs (kind, status);

-- The Overview's invitations waiting for more than 3 days: the old ones only,
-- not every invited member with a lookup each.
CREATE INDEX memberships_invited ON memberships (org_id, status, invited_at);
