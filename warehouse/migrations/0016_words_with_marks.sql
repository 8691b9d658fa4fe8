-- Words keep their marks (Unicode category M) in the duplicate checks and keyword matching
-- since this release: Bengali, Devanagari, Thai, ... write vowel signs and viramas as marks,
-- and a word was cut at each of them, so that words of the same consonants were the same
-- words to the exact hashes, shingles, title keys and keyword tokens. The page analysis of the live pages whose text, title or
-- question holds a mark is made stale: the next run scores them again (fingerprints
-- included) and regroups them in its duplicate pass. Only text with a character beyond
-- ASCII (more bytes than characters) is searched: 1.1 s at 1,000,000 pages, 2.5 s without.
UPDATE readability SET content_hash = NULL
WHERE doc_key IN (
    SELECT doc_key FROM documents
    WHERE deleted_run IS NULL AND (
        (strlen(body_text) <> length(body_text) AND regexp_matches(body_text, '\p{M}'))
        OR (strlen(title) <> length(title) AND regexp_matches(title, '\p{M}'))
        OR (strlen(question) <> length(question) AND regexp_matches(question, '\p{M}'))
    )
);
