-- Core tables: runs, documents, ingest errors. No primary keys on tables that are
-- rewritten in batches (DuckDB pitfall: false duplicate-key errors on large updates);
-- the loaders keep doc_key unique and tests check it.

CREATE TABLE IF NOT EXISTS runs (
    run_id            BIGINT PRIMARY KEY,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ,
    status            VARCHAR NOT NULL,          -- running | completed | failed | abandoned
    files_seen        BIGINT,
    docs_new          BIGINT,
    docs_changed      BIGINT,
    docs_unchanged    BIGINT,
    docs_deleted      BIGINT,
    files_quarantined BIGINT,
    content_dir       VARCHAR,
    message           VARCHAR,
    pid               INTEGER,
    hostname          VARCHAR,
    prefect_flow_run_id VARCHAR
);

CREATE TABLE IF NOT EXISTS run_batches (
    run_id            BIGINT NOT NULL,
    batch_no          INTEGER NOT NULL,
    files_seen        BIGINT NOT NULL,
    docs_new          BIGINT NOT NULL,
    docs_changed      BIGINT NOT NULL,
    docs_unchanged    BIGINT NOT NULL,
    files_quarantined BIGINT NOT NULL,
    loaded_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS documents (
    doc_key           VARCHAR NOT NULL,          -- path relative to the content folder, POSIX
    source_id         VARCHAR,                   -- front-matter id: an attribute, not unique
    subject           VARCHAR,
    subject_key       VARCHAR NOT NULL,
    title             VARCHAR,
    seo_title         VARCHAR,
    meta_description  VARCHAR,
    keywords          VARCHAR[],
    question          VARCHAR,
    body_markdown     VARCHAR,
    body_text         VARCHAR,
    url               VARCHAR,
    file_name         VARCHAR,
    published_date    DATE,
    author            VARCHAR,
    content_hash      VARCHAR NOT NULL,          -- xxh3-128 of the file's bytes
    file_size         BIGINT,
    file_mtime_ns     BIGINT,
    first_seen_run    BIGINT NOT NULL,
    last_changed_run  BIGINT NOT NULL,
    deleted_run       BIGINT                     -- set when the file vanished; row kept for history
);

CREATE TABLE IF NOT EXISTS ingest_errors (
    run_id                BIGINT NOT NULL,
    path                  VARCHAR NOT NULL,
    error_kind            VARCHAR NOT NULL,
    message               VARCHAR NOT NULL,
    content_hash          VARCHAR,
    kept_previous_version BOOLEAN NOT NULL DEFAULT false  -- a good earlier version stays in documents
);

CREATE TABLE IF NOT EXISTS pipeline_state (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
