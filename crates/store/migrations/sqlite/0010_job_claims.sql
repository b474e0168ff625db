-- The instance that claimed a running job: a restarted instance takes back its
-- own claims at once instead of waiting for their lease to run out.
ALTER TABLE jobs ADD COLUMN claimed_by TEXT;
