-- Jekyll's Liquid tags ({% include ... %}, {% link ... %}) and the code or comments that
-- {% highlight %} and {% comment %} blocks hold are no longer part of a page's plain text
-- since this release. The next run reads and parses again the live pages whose markdown
-- holds one (their stored state matches no file; the hash kept behind the prefix
-- warehouse.documents.PARSE_AGAIN lets the run count them unchanged); a Hugo {{% tag %}} is
-- not one.
UPDATE documents SET content_hash = 'parse-again:' || content_hash, file_mtime_ns = NULL
WHERE deleted_run IS NULL AND contains(body_markdown, '{%')
  AND regexp_matches(body_markdown, '(^|[^{])\{%-?\s*\w');
