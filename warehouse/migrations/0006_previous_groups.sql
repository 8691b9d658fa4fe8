-- The groups (exact hash, title, question) a page was in at the last duplicate pass, kept
-- from the moment its fingerprints are replaced or removed until the next duplicate pass has
-- recomputed the exact and title pairs of the groups it left or joined (and empties this
-- table in the same transaction). The first value wins while a page changes again before
-- that pass, e.g. across a run that died.
CREATE TABLE IF NOT EXISTS minhash_previous_groups (
    doc_key       VARCHAR NOT NULL,
    exact_hash    VARCHAR NOT NULL,
    title_key     UBIGINT,
    question_key  UBIGINT
);
