-- The main keyword is no longer looked for in a meta description, or a title and SEO title,
-- that the page does not have (meta_description_missing / title_missing name the gap once;
-- "main keyword not in the meta description" was a second finding of it). The page analysis
-- of the live pages with keywords and such a gap is made stale: the next run scores them
-- again. Blank as Python's strip() sees it: whitespace and Unicode separators.
UPDATE readability SET content_hash = NULL
WHERE doc_key IN (
    SELECT doc_key FROM documents
    WHERE deleted_run IS NULL AND len(coalesce(keywords, []::VARCHAR[])) > 0 AND (
        coalesce(regexp_replace(meta_description, '[\s\p{Z}]', '', 'g'), '') = ''
        OR (coalesce(regexp_replace(title, '[\s\p{Z}]', '', 'g'), '') = ''
            AND coalesce(regexp_replace(seo_title, '[\s\p{Z}]', '', 'g'), '') = '')
    )
);
