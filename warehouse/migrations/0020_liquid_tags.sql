-- Jekyll's Liquid tags ({% include ... %}, {% link ... %}) and the code or comments that
-- {% highlight %} and {% comment %} blocks hold are no longer part of a page's plain text
-- since this release. The next run reads and parses again the live pages whose markdown
-- holds one (their stored state matches no file: see 0013); a Hugo {{% tag %}} is not one.
UPDATE documents SET content_hash = 'parse-again', file_mtime_ns = NULL
WHERE deleted_run IS NULL AND contains(body_markdown, '{%')
  AND regexp_matches(body_markdown, '(^|[^{])\{%-?\s*\w');
