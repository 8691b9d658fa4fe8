-- Duplicate clusters as each subject's report shows them: for every subject (viewer), up to
-- $groups clusters holding one of its pages, each with up to $pages members, the viewer's
-- own pages first. members: the cluster's full size among live pages.
WITH members AS (
    SELECT c.cluster_id, c.kind, c.doc_key, q.subject_key, q.title, q.url, q.priority_rank,
           c.is_canonical, p.similarity,
           count(*) OVER (PARTITION BY c.cluster_id) AS members
    FROM duplicate_clusters c
    JOIN page_quality q USING (doc_key)
    LEFT JOIN duplicate_pairs p
      ON p.kind <> 'title'
     AND p.doc_key_a = least(c.doc_key, c.cluster_id) AND p.doc_key_b = greatest(c.doc_key, c.cluster_id)
),
views AS (
    SELECT subject_key AS viewer, cluster_id, min(priority_rank) AS best_rank
    FROM members GROUP BY subject_key, cluster_id
    QUALIFY row_number() OVER (PARTITION BY viewer ORDER BY best_rank, cluster_id) <= $groups
)
SELECT v.viewer, v.best_rank, m.*
FROM views v JOIN members m USING (cluster_id)
QUALIFY row_number() OVER (
    PARTITION BY v.viewer, m.cluster_id
    ORDER BY NOT m.is_canonical, m.subject_key <> v.viewer, m.doc_key
) <= $pages
ORDER BY v.viewer, v.best_rank, m.cluster_id, NOT m.is_canonical, m.subject_key <> v.viewer, m.doc_key
