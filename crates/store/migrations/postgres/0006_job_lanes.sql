-- Each kind of job is claimed on its own (a lane per kind), in due order: a
-- backlog of one kind never stands in front of another kind's jobs.
CREATE INDEX jobs_kind_due ON jobs (kind, status, run_at, id);
