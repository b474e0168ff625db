-- The events a job wrote (each person a bulk invite invited) name the job, so
-- the job's summary event leads to them (`?job=` on the audit log).
ALTER TABLE audit_events ADD COLUMN job_id TEXT;
CREATE INDEX audit_events_job ON audit_events (org_id, job_id) WHERE job_id IS NOT NULL;
