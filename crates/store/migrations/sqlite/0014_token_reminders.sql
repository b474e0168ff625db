-- The lease end each reminder mail was sent for (7 days and 1 day before): a
-- lease that moves, extended or kept alive by use, is reminded of again.
ALTER TABLE personal_access_tokens ADD COLUMN week_reminder_for BIGINT;
ALTER TABLE personal_access_tokens ADD COLUMN day_reminder_for BIGINT;
CREATE INDEX personal_access_tokens_lease ON personal_access_tokens (lease_expires_at);
