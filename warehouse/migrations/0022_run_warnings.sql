-- What a run warned of (a run that quarantined most of the files it found names the main
-- reasons, and the other profile when they are missing fields): kept with the run, so that
-- the report and an analyst querying `runs` see it, not only the run's log.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS warnings VARCHAR[];
