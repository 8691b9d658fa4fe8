-- An SEO title that is the page's own title (the docs profile's fallback) is left to the
-- duplicate_title rule since this release: a duplicated title was two findings, and cost the
-- page twice. The page analysis (which holds the metadata keys the site checks group by) of
-- the live pages whose SEO title may be their title is made stale: the next run scores them
-- again and redoes the site checks. Compared loosely here (case and spaces; any text beyond
-- ASCII, where case folding differs from lower()), so that no such page is missed.
UPDATE readability SET content_hash = NULL
WHERE doc_key IN (
    SELECT doc_key FROM documents
    WHERE deleted_run IS NULL AND seo_title IS NOT NULL AND title IS NOT NULL AND (
        strlen(seo_title) <> length(seo_title) OR strlen(title) <> length(title)
        OR lower(regexp_replace(trim(seo_title), '\s+', ' ', 'g'))
           = lower(regexp_replace(trim(title), '\s+', ' ', 'g'))
    )
);
