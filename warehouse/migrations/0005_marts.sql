-- Marts for analysts and reports (issue 6). Rebuilt from the other tables at the end of
-- every run by warehouse.marts.rebuild_marts, never patched: page_quality, page_findings
-- and finding_rules hold the latest run only; subject_quality keeps one row per subject
-- and run (history), so changes between runs can be read back.

-- What each finding rule means and how to fix it, in plain words (from transforms.seo
-- and warehouse.marts), so reports and analysts read the same sentences.
CREATE TABLE IF NOT EXISTS finding_rules (
    rule          VARCHAR NOT NULL,
    severity      VARCHAR NOT NULL,              -- error | warning | notice
    explanation   VARCHAR NOT NULL,              -- what is wrong
    suggested_fix VARCHAR NOT NULL               -- what to do about it
);

-- One row per (live document, finding): the SEO findings plus findings the marts derive
-- from readability, keyword coverage and duplicate clusters.
CREATE TABLE IF NOT EXISTS page_findings (
    doc_key     VARCHAR NOT NULL,
    subject_key VARCHAR NOT NULL,
    rule        VARCHAR NOT NULL,
    severity    VARCHAR NOT NULL,
    detail      VARCHAR NOT NULL,
    source      VARCHAR NOT NULL                 -- seo | readability | keywords | duplicates
);

-- One row per live document.
CREATE TABLE IF NOT EXISTS page_quality (
    run_id                      BIGINT NOT NULL,  -- run that built this row
    doc_key                     VARCHAR NOT NULL,
    subject_key                 VARCHAR NOT NULL,
    subject                     VARCHAR,
    title                       VARCHAR,
    url                         VARCHAR,
    first_seen_run              BIGINT,
    last_changed_run            BIGINT,
    word_count                  BIGINT,
    sentence_count              BIGINT,
    flesch_reading_ease         DOUBLE,
    flesch_kincaid_grade        DOUBLE,
    gunning_fog                 DOUBLE,
    long_sentence_share         DOUBLE,
    reading_time_s              DOUBLE,
    keywords_declared           INTEGER,
    keywords_in_body            INTEGER,
    keyword_coverage_ratio      DOUBLE,           -- NULL when no keyword is declared
    main_keyword                VARCHAR,
    keyword_stuffing            BOOLEAN,
    seo_errors                  INTEGER NOT NULL,
    seo_warnings                INTEGER NOT NULL,
    seo_notices                 INTEGER NOT NULL,
    duplicate_cluster_id        VARCHAR,          -- doc_key of the cluster's canonical page
    duplicate_kind              VARCHAR,          -- exact | near (NULL: not in a cluster)
    duplicate_cluster_size      INTEGER,
    is_canonical                BOOLEAN,
    is_duplicate                BOOLEAN NOT NULL, -- in a cluster and not its canonical page
    readability_component       DOUBLE NOT NULL,  -- 0..1, see warehouse.marts.QualityWeights
    keyword_component           DOUBLE NOT NULL,
    seo_component               DOUBLE NOT NULL,
    uniqueness_component        DOUBLE NOT NULL,
    quality_score               DOUBLE NOT NULL,  -- 0..100, higher is better
    finding_count               INTEGER NOT NULL, -- rows in page_findings
    top_issues                  VARCHAR[] NOT NULL, -- up to 3 rules, worst severity first
    priority_rank               BIGINT NOT NULL   -- 1 = fix first (lowest score) within the subject
);

-- One row per subject and run.
CREATE TABLE IF NOT EXISTS subject_quality (
    run_id                          BIGINT NOT NULL,
    subject_key                     VARCHAR NOT NULL,
    subject                         VARCHAR,      -- the most common spelling
    pages                           BIGINT NOT NULL,
    median_flesch_reading_ease      DOUBLE,
    median_word_count               DOUBLE,
    keyword_coverage_ratio          DOUBLE,       -- mean over pages that declare keywords
    duplicate_pages                 BIGINT NOT NULL,
    duplicate_share                 DOUBLE,       -- duplicate_pages / pages
    seo_errors                      BIGINT NOT NULL,
    seo_warnings                    BIGINT NOT NULL,
    seo_notices                     BIGINT NOT NULL,
    seo_findings                    BIGINT NOT NULL,
    quality_score                   DOUBLE,       -- mean of the pages' quality_score
    pages_added                     BIGINT NOT NULL,
    pages_changed                   BIGINT NOT NULL,
    pages_deleted                   BIGINT NOT NULL,
    previous_run_id                 BIGINT,       -- run of the previous row for this subject
    quality_score_delta             DOUBLE,
    median_flesch_reading_ease_delta DOUBLE,
    keyword_coverage_ratio_delta    DOUBLE,
    duplicate_share_delta           DOUBLE,
    seo_findings_delta              BIGINT,
    pages_delta                     BIGINT
);
