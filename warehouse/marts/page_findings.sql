-- page_findings: the stored SEO findings of live pages, plus findings the marts derive
-- from readability, keyword coverage and duplicate clusters ($parameters come from
-- warehouse.marts.QualityWeights). Built for one chunk of the pages at a time (one of
-- $chunks ranges of doc_key, from $chunk_from to before $chunk_to, NULL for the last;
-- in_chunk: warehouse.marts._IN_CHUNK): each join holds that chunk's pages, not the site's.
WITH live AS (
    SELECT doc_key, subject_key FROM documents
    WHERE deleted_run IS NULL AND in_chunk(doc_key, $chunks, $chunk_from, $chunk_to)
)
SELECT s.doc_key, l.subject_key, s.rule, s.severity, s.detail, 'seo' AS source
FROM seo_findings s JOIN live l USING (doc_key)
UNION ALL
SELECT r.doc_key, l.subject_key, 'hard_to_read', 'warning',
       printf('Flesch reading ease %.1f: below %g is hard to read for most readers (aim for %g or more).',
              r.flesch_reading_ease, $hard_to_read_below, $readable_from),
       'readability'
FROM readability r JOIN live l USING (doc_key)
WHERE r.flesch_reading_ease < $hard_to_read_below
UNION ALL
SELECT k.doc_key, l.subject_key, 'keywords_not_in_body', 'notice',
       printf('%d of %d declared keywords appear in the body; missing: %s.',
              k.keywords_in_body, k.keywords_declared,
              array_to_string(k.keywords_missing[1:5], ', ')
              || CASE WHEN len(k.keywords_missing) > 5 THEN printf(' and %d more', len(k.keywords_missing) - 5)
                      ELSE '' END),
       'keywords'
FROM page_keywords k JOIN live l USING (doc_key)
WHERE k.keyword_coverage_ratio < $coverage_low_below
UNION ALL
SELECT c.doc_key, l.subject_key,
       CASE c.kind WHEN 'exact' THEN 'exact_duplicate' ELSE 'near_duplicate' END,
       CASE c.kind WHEN 'exact' THEN 'error' ELSE 'warning' END,
       printf('%s of %s (group of %d pages).',
              CASE c.kind WHEN 'exact' THEN 'Same text as' ELSE 'Near copy' END,
              c.cluster_id, c.cluster_size),
       'duplicates'
FROM duplicate_clusters c JOIN live l USING (doc_key)
WHERE NOT c.is_canonical
