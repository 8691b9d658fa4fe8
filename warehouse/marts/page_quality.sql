-- page_quality: one row per live document with its key numbers and a 0-100 quality score.
-- quality_score = 100 x weighted mean of four components, each 0..1 (weights and bounds:
-- warehouse.marts.QualityWeights):
--   readability: Flesch reading ease mapped linearly from $readability_zero_at (0) to $readable_from (1)
--   keywords:    share of declared keywords found in the body (0 when none declared; left out of
--                the mean, NULL, for a page that declares none where none are expected: the
--                analysis then gave it no keywords_missing finding, KeywordSettings.expected)
--   seo:         1 - ($error_penalty x errors + $warning_penalty x warnings + $notice_penalty x notices), floored at 0
--   uniqueness:  1 unless the page duplicates another page: exact copy 0, near copy $near_duplicate_uniqueness
-- Built for one chunk of the pages at a time (one of $chunks ranges of doc_key, from
-- $chunk_from to before $chunk_to, NULL for the last: warehouse.marts._chunk_bounds), so its
-- joins and aggregates hold one chunk's rows, not the site's; every source is cut to the
-- chunk before it is joined (in_chunk: warehouse.marts._IN_CHUNK).
-- priority_rank, which ranks a whole subject, is set by warehouse.marts (_RANK_PAGES).
WITH live AS (
    SELECT doc_key, subject_key, subject, title, url, first_seen_run, last_changed_run
    FROM documents WHERE deleted_run IS NULL AND in_chunk(doc_key, $chunks, $chunk_from, $chunk_to)
),
readability_of_chunk AS (
    SELECT * FROM readability WHERE in_chunk(doc_key, $chunks, $chunk_from, $chunk_to)
),
keywords_of_chunk AS (
    SELECT * FROM page_keywords WHERE in_chunk(doc_key, $chunks, $chunk_from, $chunk_to)
),
clusters_of_chunk AS (
    SELECT * FROM duplicate_clusters WHERE in_chunk(doc_key, $chunks, $chunk_from, $chunk_to)
),
seo AS (
    SELECT doc_key,
           count(*) FILTER (WHERE severity = 'error') AS seo_errors,
           count(*) FILTER (WHERE severity = 'warning') AS seo_warnings,
           count(*) FILTER (WHERE severity = 'notice') AS seo_notices,
           bool_or(rule = 'keywords_missing') AS keywords_missing
    FROM seo_findings WHERE in_chunk(doc_key, $chunks, $chunk_from, $chunk_to) GROUP BY doc_key
),
issues AS (
    -- rules by severity (errors first), then name: each prefixed by its severity's digit,
    -- sorted per page, the digit cut off (half the time of an ordered list aggregate)
    SELECT doc_key, count(*) AS finding_count,
           list_transform(
               list_sort(list(CASE severity WHEN 'error' THEN '0' WHEN 'warning' THEN '1' ELSE '2' END || rule)),
               lambda ranked: ranked[2:]
           ) AS rules
    FROM page_findings WHERE in_chunk(doc_key, $chunks, $chunk_from, $chunk_to) GROUP BY doc_key
),
joined AS (
    SELECT l.*, r.word_count, r.sentence_count, r.flesch_reading_ease, r.flesch_kincaid_grade,
           r.gunning_fog, r.long_sentence_share, r.reading_time_s,
           k.keywords_declared, k.keywords_in_body, k.keyword_coverage_ratio, k.main_keyword,
           k.keyword_stuffing,
           coalesce(s.seo_errors, 0) AS seo_errors, coalesce(s.seo_warnings, 0) AS seo_warnings,
           coalesce(s.seo_notices, 0) AS seo_notices,
           coalesce(k.keywords_declared, 0) > 0 OR coalesce(s.keywords_missing, false) AS keywords_scored,
           c.cluster_id AS duplicate_cluster_id, c.kind AS duplicate_kind,
           c.cluster_size AS duplicate_cluster_size, c.is_canonical,
           coalesce(NOT c.is_canonical, false) AS is_duplicate,
           coalesce(i.finding_count, 0) AS finding_count,
           coalesce(i.rules[1:3], []::VARCHAR[]) AS top_issues
    FROM live l
    LEFT JOIN readability_of_chunk r USING (doc_key)
    LEFT JOIN keywords_of_chunk k USING (doc_key)
    LEFT JOIN seo s USING (doc_key)
    LEFT JOIN clusters_of_chunk c USING (doc_key)
    LEFT JOIN issues i USING (doc_key)
),
components AS (
    SELECT *,
           coalesce(least(greatest((flesch_reading_ease - $readability_zero_at)
                                   / ($readable_from - $readability_zero_at), 0), 1), 0)
               AS readability_component,
           CASE WHEN keywords_scored THEN coalesce(keyword_coverage_ratio, 0) END AS keyword_component,
           greatest(1 - ($error_penalty * seo_errors + $warning_penalty * seo_warnings
                         + $notice_penalty * seo_notices), 0) AS seo_component,
           CASE WHEN NOT is_duplicate THEN 1.0
                WHEN duplicate_kind = 'exact' THEN 0.0
                ELSE $near_duplicate_uniqueness END AS uniqueness_component
    FROM joined
),
scored AS (
    SELECT *,
           round(100 * ($readability_weight * readability_component
                        + coalesce($keyword_weight * keyword_component, 0)
                        + $seo_weight * seo_component + $uniqueness_weight * uniqueness_component)
                 / ($readability_weight + CASE WHEN keyword_component IS NULL THEN 0 ELSE $keyword_weight END
                    + $seo_weight + $uniqueness_weight), 1)
               AS quality_score
    FROM components
)
SELECT $run_id AS run_id, * EXCLUDE (keywords_scored) FROM scored
