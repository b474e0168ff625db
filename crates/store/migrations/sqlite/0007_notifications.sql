-- Devices, push notifications, inboxes and Web Push deliveries.

-- An app installation of a user. Only the SHA-256 of its token is stored; the
-- Web Push subscription (if any) is what the push service needs to reach it.
CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    platform      TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    push_endpoint TEXT,
    push_p256dh   TEXT,
    push_auth     TEXT,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER
);
CREATE INDEX devices_user ON devices (user_id, id);

CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL,
    link            TEXT,
    data            TEXT,
    scope           TEXT NOT NULL,
    status          TEXT NOT NULL,
    scheduled_at    INTEGER,
    sent_at         INTEGER,
    created_by      TEXT REFERENCES users (id) ON DELETE SET NULL,
    idempotency_key TEXT,
    created_at      INTEGER NOT NULL,
    -- Kept by the statements that change an inbox item, so a list needs no
    -- aggregate over a hundred thousand recipients.
    recipients      INTEGER NOT NULL DEFAULT 0,
    delivered       INTEGER NOT NULL DEFAULT 0,
    opened          INTEGER NOT NULL DEFAULT 0,
    failed          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (org_id, created_by, idempotency_key)
);
CREATE INDEX notifications_org ON notifications (org_id, id);

-- The solutions, groups or users a notification names (resolved to people
-- when it is sent).
CREATE TABLE notification_targets (
    notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    target_id       TEXT NOT NULL,
    PRIMARY KEY (notification_id, target_id)
);

-- One recipient's copy: the inbox item. One per person and notification, so a
-- fan-out that runs again writes nobody twice.
CREATE TABLE inbox_items (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    org_id          TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    read_at         INTEGER,
    failed_at       INTEGER,
    last_error      TEXT,
    deleted_at      INTEGER,
    UNIQUE (notification_id, user_id)
);
CREATE INDEX inbox_items_user ON inbox_items (user_id, org_id, id);
CREATE INDEX inbox_items_notification ON inbox_items (notification_id, id);

-- A Web Push to one device for one inbox item.
CREATE TABLE push_deliveries (
    item_id         TEXT NOT NULL REFERENCES inbox_items (id) ON DELETE CASCADE,
    device_id       TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
    notification_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    last_error      TEXT,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (item_id, device_id)
);
CREATE INDEX push_deliveries_due ON push_deliveries (notification_id, status, next_at);
CREATE INDEX push_deliveries_device ON push_deliveries (device_id);

-- The VAPID key pair every instance signs Web Push requests with.
CREATE TABLE vapid_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
