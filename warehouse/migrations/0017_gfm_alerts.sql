-- GitHub alerts (`> [!NOTE]`, `> [!WARNING]`, ...) open a box whose marker readers never see;
-- since this release the marker is not part of a page's plain text (it was a sentence's first
-- word on 883 of the 2,133 PowerShell docs pages). The next run reads and parses again the
-- live pages whose markdown holds one (their stored state matches no file: see 0013).
UPDATE documents SET content_hash = 'parse-again', file_mtime_ns = NULL
WHERE deleted_run IS NULL AND contains(body_markdown, '[!')
  AND regexp_matches(body_markdown, '(?im)^[ \t]*>[ \t]*\[!(note|tip|important|warning|caution)\]');
