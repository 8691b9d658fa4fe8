-- subject_quality rows of run $run_id: one per subject with live pages or pages deleted in
-- this run. Deltas compare with the subject's latest earlier row; scoring_changed says that
-- row's scores were made another way ($scoring_fingerprint: warehouse.marts._scoring_fingerprint).
-- Means of exact sums (each value as DECIMAL(38, 18)): a float sum, even compensated (favg),
-- depends on the order of the rows and of DuckDB's threads, which nothing fixes, and
-- unchanged subjects showed deltas of ~1e-15 between runs.
WITH pages AS (
    SELECT subject_key,
           count(*) AS pages,
           median(flesch_reading_ease) AS median_flesch_reading_ease,
           median(word_count) AS median_word_count,
           avg(keyword_coverage_ratio::DECIMAL(38, 18)) AS keyword_coverage_ratio,
           count(*) FILTER (WHERE is_duplicate) AS duplicate_pages,
           sum(seo_errors) AS seo_errors,
           sum(seo_warnings) AS seo_warnings,
           sum(seo_notices) AS seo_notices,
           round(avg(quality_score::DECIMAL(38, 18)), 1) AS quality_score
    FROM page_quality GROUP BY subject_key
),
spellings AS (
    SELECT subject_key, subject, count(*) AS n
    FROM documents WHERE deleted_run IS NULL OR deleted_run = $run_id
    GROUP BY subject_key, subject
),
names AS (
    SELECT subject_key, first(subject ORDER BY n DESC, subject) AS subject
    FROM spellings GROUP BY subject_key
),
changes AS (
    SELECT subject_key,
           count(*) FILTER (WHERE deleted_run IS NULL AND first_seen_run = $run_id) AS pages_added,
           count(*) FILTER (WHERE deleted_run IS NULL AND last_changed_run = $run_id
                            AND first_seen_run < $run_id) AS pages_changed,
           count(*) FILTER (WHERE deleted_run = $run_id) AS pages_deleted
    FROM documents GROUP BY subject_key
),
current AS (
    SELECT coalesce(p.subject_key, c.subject_key) AS subject_key,
           coalesce(p.pages, 0) AS pages, p.median_flesch_reading_ease, p.median_word_count,
           p.keyword_coverage_ratio, coalesce(p.duplicate_pages, 0) AS duplicate_pages,
           p.duplicate_pages / nullif(p.pages, 0) AS duplicate_share,
           coalesce(p.seo_errors, 0) AS seo_errors, coalesce(p.seo_warnings, 0) AS seo_warnings,
           coalesce(p.seo_notices, 0) AS seo_notices,
           coalesce(p.seo_errors + p.seo_warnings + p.seo_notices, 0) AS seo_findings,
           p.quality_score,
           coalesce(c.pages_added, 0) AS pages_added, coalesce(c.pages_changed, 0) AS pages_changed,
           coalesce(c.pages_deleted, 0) AS pages_deleted
    FROM pages p FULL JOIN changes c USING (subject_key)
    WHERE p.pages IS NOT NULL OR c.pages_deleted > 0
),
previous AS (
    SELECT * FROM subject_quality WHERE run_id < $run_id
    QUALIFY row_number() OVER (PARTITION BY subject_key ORDER BY run_id DESC) = 1
)
SELECT $run_id AS run_id, cur.subject_key, n.subject, cur.pages, cur.median_flesch_reading_ease,
       cur.median_word_count, cur.keyword_coverage_ratio, cur.duplicate_pages, cur.duplicate_share,
       cur.seo_errors, cur.seo_warnings, cur.seo_notices, cur.seo_findings, cur.quality_score,
       cur.pages_added, cur.pages_changed, cur.pages_deleted,
       prev.run_id AS previous_run_id,
       cur.quality_score - prev.quality_score AS quality_score_delta,
       cur.median_flesch_reading_ease - prev.median_flesch_reading_ease AS median_flesch_reading_ease_delta,
       cur.keyword_coverage_ratio - prev.keyword_coverage_ratio AS keyword_coverage_ratio_delta,
       cur.duplicate_share - prev.duplicate_share AS duplicate_share_delta,
       cur.seo_findings - prev.seo_findings AS seo_findings_delta,
       cur.pages - prev.pages AS pages_delta,
       $scoring_fingerprint AS scoring_fingerprint,
       CASE WHEN prev.run_id IS NOT NULL THEN prev.scoring_fingerprint IS DISTINCT FROM $scoring_fingerprint END
           AS scoring_changed
FROM current cur
LEFT JOIN names n USING (subject_key)
LEFT JOIN previous prev USING (subject_key)
ORDER BY cur.subject_key
