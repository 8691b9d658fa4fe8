-- page_quality is built a chunk of pages at a time (warehouse.marts.rebuild_marts), and
-- priority_rank, which ranks the pages of a whole subject, is set by one UPDATE once every
-- chunk is in, in the same transaction: the column is NULL only inside that transaction.
ALTER TABLE page_quality ALTER COLUMN priority_rank DROP NOT NULL;
