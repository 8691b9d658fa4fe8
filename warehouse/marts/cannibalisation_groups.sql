-- Keyword cannibalisation groups as each subject's report shows them: for every subject
-- (viewer), up to $groups main keywords its pages share with other pages (largest groups
-- first), each with up to $pages pages, the viewer's own pages first.
-- Members are first cut to each subject's first $pages pages of a keyword (by doc_key): a
-- viewer's list holds its own first pages and the first of the other subjects' pages, all
-- within that cut, so the viewer x member join stays small on groups of thousands of pages.
WITH members AS (
    SELECT k.main_keyword_key, k.main_keyword, k.group_size, k.doc_key, q.subject_key, q.title, q.url,
           q.priority_rank,
           count(*) OVER (PARTITION BY k.main_keyword_key) AS members
    FROM keyword_cannibalisation k JOIN page_quality q USING (doc_key)
    QUALIFY row_number() OVER (PARTITION BY k.main_keyword_key, q.subject_key ORDER BY k.doc_key) <= $pages
),
views AS (
    SELECT subject_key AS viewer, main_keyword_key, max(group_size) AS largest
    FROM members GROUP BY subject_key, main_keyword_key
    QUALIFY row_number() OVER (PARTITION BY viewer ORDER BY largest DESC, main_keyword_key) <= $groups
)
SELECT v.viewer, m.*
FROM views v JOIN members m USING (main_keyword_key)
QUALIFY row_number() OVER (
    PARTITION BY v.viewer, m.main_keyword_key ORDER BY m.subject_key <> v.viewer, m.doc_key
) <= $pages
ORDER BY v.viewer, v.largest DESC, m.main_keyword_key, m.subject_key <> v.viewer, m.doc_key
