-- An organization being deleted: set in the transaction that queues the job
-- that deletes its data in batches. From then on no membership of it counts
-- and it is in no list; the job deletes the row itself last.
ALTER TABLE organizations ADD COLUMN deleting_at BIGINT;
