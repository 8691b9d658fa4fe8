-- A page whose text has no words (code blocks, images, or nothing at all) has no exact hash
-- (NULL), so it is no exact duplicate of another such page. Before, every one of them hashed
-- the empty text alike and all of them made one exact-duplicate group: on the Hugo docs, 21
-- code-only pages "copied" each other, each an error and no uniqueness in its score.
ALTER TABLE minhash_signatures ALTER COLUMN exact_hash DROP NOT NULL;
ALTER TABLE minhash_previous_groups ALTER COLUMN exact_hash DROP NOT NULL;
-- The pages stored with the empty text's hash (xxhash64 of "") have their page analysis made
-- stale: the next run scores those pages again, stores their fingerprints without the hash
-- and regroups them in its duplicate pass, where their exact pairs go.
UPDATE readability SET content_hash = NULL
WHERE doc_key IN (SELECT doc_key FROM minhash_signatures WHERE exact_hash = 'ef46db3751d8e999');
