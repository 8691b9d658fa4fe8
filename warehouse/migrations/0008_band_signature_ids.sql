-- LSH band rows name their page by an integer, the signature_id of its stored signature,
-- instead of its doc_key: 32 band rows a page made the doc_key strings about half of what a
-- cold run wrote to DuckDB's log and held in memory before each checkpoint, and the band
-- join now compares integers. A signature gets a new id each time it is stored (the largest
-- id + 1; ids of pages removed before may be used again, their bands leave with them).
ALTER TABLE minhash_signatures ADD COLUMN signature_id UBIGINT;
UPDATE minhash_signatures SET signature_id = rowid + 1;

CREATE TABLE minhash_bands_by_signature (
    signature_id  UBIGINT NOT NULL,      -- minhash_signatures.signature_id
    band          USMALLINT NOT NULL,
    band_hash     UBIGINT NOT NULL       -- stable hash of the band's rows; pages without words have none
);
INSERT INTO minhash_bands_by_signature
SELECT s.signature_id, b.band, b.band_hash FROM minhash_bands b JOIN minhash_signatures s USING (doc_key);
DROP TABLE minhash_bands;
ALTER TABLE minhash_bands_by_signature RENAME TO minhash_bands;
