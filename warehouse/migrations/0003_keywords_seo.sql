-- Keyword coverage and SEO findings (issue 4). Marts rebuilt per run for the pages
-- that changed; no primary keys on these multi-row tables (DuckDB pitfall 7).
-- Columns follow transforms.keywords / transforms.seo outputs, in the same order.

-- One row per (document, declared keyword).
CREATE TABLE IF NOT EXISTS keyword_coverage (
    doc_key              VARCHAR NOT NULL,
    keyword              VARCHAR NOT NULL,      -- as declared (cleaned of blanks and duplicates)
    keyword_position     INTEGER NOT NULL,      -- 0 = main keyword (the first declared)
    in_title             BOOLEAN NOT NULL,
    in_seo_title         BOOLEAN NOT NULL,
    in_meta_description  BOOLEAN NOT NULL,
    in_url               BOOLEAN NOT NULL,      -- in the URL slug (last path segment)
    in_first_paragraph   BOOLEAN NOT NULL,
    body_occurrences     INTEGER NOT NULL,
    density              DOUBLE                 -- fraction: occurrences x words in keyword / body words
);

-- One row per document.
CREATE TABLE IF NOT EXISTS page_keywords (
    doc_key                          VARCHAR NOT NULL,
    keywords_declared                INTEGER NOT NULL,
    keywords_in_body                 INTEGER NOT NULL,
    keyword_coverage_ratio           DOUBLE,    -- NULL when no keyword is declared
    keywords_missing                 VARCHAR[], -- declared keywords not found in the body
    main_keyword                     VARCHAR,
    main_keyword_in_title            BOOLEAN,   -- page title or SEO title; NULL without a main keyword
    main_keyword_at_title_start      BOOLEAN,
    main_keyword_in_first_paragraph  BOOLEAN,
    main_keyword_in_meta_description BOOLEAN,
    main_keyword_in_url              BOOLEAN,
    main_keyword_density             DOUBLE,
    keyword_stuffing                 BOOLEAN NOT NULL
);

-- One row per (document, finding); page checks and site-wide duplicate checks.
CREATE TABLE IF NOT EXISTS seo_findings (
    doc_key   VARCHAR NOT NULL,
    rule      VARCHAR NOT NULL,                 -- stable id, explained in transforms.seo.SEO_RULES
    severity  VARCHAR NOT NULL,                 -- error | warning | notice
    detail    VARCHAR NOT NULL,
    scope     VARCHAR NOT NULL                  -- 'page' | 'site'
);

-- One row per page in a group of 2+ pages sharing a main keyword.
CREATE TABLE IF NOT EXISTS keyword_cannibalisation (
    main_keyword_key VARCHAR NOT NULL,          -- stemmed, case-folded main keyword
    main_keyword     VARCHAR NOT NULL,          -- as this page declares it
    doc_key          VARCHAR NOT NULL,
    subject_key      VARCHAR,
    group_size       INTEGER NOT NULL
);
