-- A long job's input (a bulk upload), apart from the job's row: recording
-- progress then rewrites a small row, not the whole upload, for every batch.
CREATE TABLE job_inputs (
    job_id TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    body   TEXT NOT NULL
);

-- Rows of a bulk upload that were skipped, and why: appended by each batch
-- instead of rewriting one growing list.
CREATE TABLE job_row_errors (
    job_id     TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    source_row BIGINT NOT NULL,
    email      TEXT NOT NULL,
    message    TEXT NOT NULL,
    PRIMARY KEY (job_id, source_row)
);
