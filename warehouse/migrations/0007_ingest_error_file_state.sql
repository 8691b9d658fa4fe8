-- The size and modification time of a quarantined file when it was read, so that the next
-- run can keep it quarantined without reading it again while neither changed (as unchanged
-- documents are kept). NULL for files never read (skipped by the scan, unreadable).
ALTER TABLE ingest_errors ADD COLUMN IF NOT EXISTS file_size BIGINT;
ALTER TABLE ingest_errors ADD COLUMN IF NOT EXISTS file_mtime_ns BIGINT;
