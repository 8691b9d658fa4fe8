-- One row per scored page: its SEO title, meta description and title as the duplicate-
-- metadata checks compare them (case folded, whitespace collapsed), hashed (xxhash64; NULL
-- when blank). Written with the page's other analysis rows (transforms.seo.metadata_keys);
-- the site checks group pages by these keys in bounded chunks instead of holding every
-- page's metadata in the flow process. Pages scored before this table existed get their
-- rows from the next run (warehouse.metadata_keys.pages_without_keys).
CREATE TABLE IF NOT EXISTS metadata_keys (
    doc_key              VARCHAR NOT NULL,
    seo_title_key        UBIGINT,
    meta_description_key UBIGINT,
    title_key            UBIGINT
);
