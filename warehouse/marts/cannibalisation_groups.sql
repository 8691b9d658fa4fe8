-- Keyword cannibalisation groups as each subject's report shows them: for every subject
-- (viewer), up to $groups main keywords its pages share with other pages (largest groups
-- first), each with up to $pages pages, the viewer's own pages first.
-- Members are first cut to each subject's first $pages pages of a keyword (by doc_key). A
-- viewer's list is its own n pages of the group, then the first $pages - n other subjects'
-- pages by doc_key: those are among the group's first $pages members, of which at most n
-- are the viewer's. So each viewer meets at most 2 x $pages rows per group (joining every
-- viewer with every member made 618,000 rows at 100,000 pages: 0.99 s -> 0.42 s).
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
),
first_members AS (
    SELECT * FROM members
    QUALIFY row_number() OVER (PARTITION BY main_keyword_key ORDER BY doc_key) <= $pages
),
shown AS (
    SELECT v.viewer, v.largest, m.* FROM views v JOIN members m
      ON m.main_keyword_key = v.main_keyword_key AND m.subject_key = v.viewer
    UNION ALL
    SELECT v.viewer, v.largest, m.* FROM views v JOIN first_members m
      ON m.main_keyword_key = v.main_keyword_key AND m.subject_key <> v.viewer
)
SELECT * EXCLUDE (largest) FROM shown
QUALIFY row_number() OVER (
    PARTITION BY viewer, main_keyword_key ORDER BY subject_key <> viewer, doc_key
) <= $pages
ORDER BY viewer, largest DESC, main_keyword_key, subject_key <> viewer, doc_key
