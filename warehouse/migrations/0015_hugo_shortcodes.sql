-- Hugo shortcode tags ({{< name >}}, {{% name %}}) and the code that code shortcodes hold are
-- no longer part of a page's plain text since this release (they were scored as prose on
-- 144 of the 531 pages of Hugo's own docs). The next run reads and parses again
-- the live pages whose markdown holds one (their stored state matches no file: see 0013).
UPDATE documents SET content_hash = 'parse-again', file_mtime_ns = NULL
WHERE deleted_run IS NULL AND regexp_matches(body_markdown, '\{\{[<%]');
