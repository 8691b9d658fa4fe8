-- The pages' bodies (markdown and plain text, most of the warehouse's bytes) are stored
-- with zstd instead of the compression DuckDB picks per segment (DICT_FSST for them:
-- they average under zstd_min_string_length, 4,096 bytes, above which DuckDB considers
-- zstd itself). Picking
-- means trying each method on every segment at each checkpoint, and a first run
-- checkpoints the growing table again and again. Measured 2026-11-29 (DuckDB 2.0.0):
-- loading 99,000 generated pages in batches of 2,000 took 4.0 s of CPU in commits and
-- checkpoints, 2.6 s with zstd; cold runs at 100,000 pages spent 1.4-1.9 s less CPU in
-- the flow process (two runs each, alternated) and left a 277 MB warehouse instead of
-- 339 MB. What it costs: a text read by key decompresses its whole vector, ~1 ms more a
-- text (the 97 texts a 1% rerun at 100,000 pages reads: 0.15 s against 0.06 s).
-- DuckDB cannot change a column's compression in place, so the table is rebuilt once
-- (same columns, same order, same rows): 2.9 s and 591 MB peak at 100,000 pages, 27.2 s and
-- 625 MB at 1,000,000. The file does not shrink then (3.75 -> 4.06 GB at 1,000,000); DuckDB
-- reuses the freed blocks. Documented: DuckDB, Text Types, "Specifying a Compression Type"
-- (https://duckdb.org/docs/preview/sql/data_types/text).
CREATE TABLE documents_zstd (
    doc_key           VARCHAR NOT NULL,
    source_id         VARCHAR,
    subject           VARCHAR,
    subject_key       VARCHAR NOT NULL,
    title             VARCHAR,
    seo_title         VARCHAR,
    meta_description  VARCHAR,
    keywords          VARCHAR[],
    question          VARCHAR,
    body_markdown     VARCHAR USING COMPRESSION zstd,
    body_text         VARCHAR USING COMPRESSION zstd,
    url               VARCHAR,
    file_name         VARCHAR,
    published_date    DATE,
    author            VARCHAR,
    content_hash      VARCHAR NOT NULL,
    file_size         BIGINT,
    file_mtime_ns     BIGINT,
    first_seen_run    BIGINT NOT NULL,
    last_changed_run  BIGINT NOT NULL,
    deleted_run       BIGINT
);
INSERT INTO documents_zstd SELECT * FROM documents;
DROP TABLE documents;
ALTER TABLE documents_zstd RENAME TO documents;
