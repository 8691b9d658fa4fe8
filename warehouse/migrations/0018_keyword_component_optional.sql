-- A page that declares no target keywords where none are expected ([keywords] expected =
-- false, the docs profile's default) is scored on readability, SEO and uniqueness alone
-- since this release: its keyword_component is NULL. The page marts are rebuilt by the
-- next run (their SQL changed); nothing else is touched here.
ALTER TABLE page_quality ALTER COLUMN keyword_component DROP NOT NULL;
