-- Duplicate detection: stored MinHash signatures and LSH band hashes (the incremental
-- index), the verified pairs and the clusters rebuilt from them. No primary keys and no
-- foreign keys (GUIDE pitfall 7): the loaders delete before they insert, per doc_key.
-- No index on minhash_bands either: the band join is a hash join, which an ART index does
-- not speed up, while every insert and delete would have to maintain it.

CREATE TABLE IF NOT EXISTS minhash_signatures (
    doc_key       VARCHAR NOT NULL,
    content_hash  VARCHAR,               -- of the file the signature was computed from
    exact_hash    VARCHAR NOT NULL,      -- xxhash64 hex of the normalised answer text
    title_key     UBIGINT,               -- xxhash64 of the folded title; NULL when empty
    question_key  UBIGINT,               -- xxhash64 of the folded question; NULL when empty
    signature     UINTEGER[] NOT NULL    -- num_perm MinHash values (datasketch affine32 scheme)
);

CREATE TABLE IF NOT EXISTS minhash_bands (
    doc_key       VARCHAR NOT NULL,
    band          USMALLINT NOT NULL,
    band_hash     UBIGINT NOT NULL       -- stable hash of the band's rows; pages without words have none
);

CREATE TABLE IF NOT EXISTS duplicate_pairs (
    doc_key_a     VARCHAR NOT NULL,      -- doc_key_a < doc_key_b
    doc_key_b     VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,      -- exact | near | title
    similarity    DOUBLE,                -- Jaccard of the 5-word shingle sets; NULL when unknown (title)
    found_run     BIGINT                 -- run that first found the pair
);

CREATE TABLE IF NOT EXISTS duplicate_clusters (
    cluster_id    VARCHAR NOT NULL,      -- doc_key of the canonical page
    doc_key       VARCHAR NOT NULL,
    is_canonical  BOOLEAN NOT NULL,
    kind          VARCHAR NOT NULL,      -- exact when every link is exact, else near
    cluster_size  INTEGER NOT NULL
);
