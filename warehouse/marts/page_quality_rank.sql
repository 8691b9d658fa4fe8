-- page_quality.priority_rank, once every chunk of page_quality is built: 1 = fix first
-- within the subject (lowest quality_score; then more findings; then doc_key).
-- A window over four narrow columns, then one UPDATE joined by doc_key.
UPDATE page_quality SET priority_rank = ranked.priority_rank
FROM (
    SELECT doc_key,
           row_number() OVER (PARTITION BY subject_key ORDER BY quality_score, finding_count DESC, doc_key)
               AS priority_rank
    FROM page_quality
) ranked
WHERE page_quality.doc_key = ranked.doc_key
