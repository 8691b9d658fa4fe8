-- Blank lines before the opening front-matter fence are skipped since this release, as Hugo
-- and python-frontmatter skip them. An older release read such a file as having no front
-- matter: under a profile that allows that, the whole file became the page's body and its
-- title and description were missing; under one that requires front matter, the file was
-- quarantined. The next run reads and parses those files again: their stored state matches
-- no file (no xxh3-128 digest is 'parse-again'; a NULL mtime equals no file's).
UPDATE documents SET content_hash = 'parse-again', file_mtime_ns = NULL
WHERE deleted_run IS NULL AND regexp_matches(body_markdown, '^[ \t\n]+(---|\+\+\+)[ \t]*\n');
UPDATE ingest_errors SET file_mtime_ns = NULL
WHERE error_kind = 'no_front_matter' AND run_id = (SELECT max(run_id) FROM ingest_errors);
