-- Subject keys keep every script's letters and marks since this release. Before, a Bengali or
-- Devanagari subject lost its vowel signs ("ধারণা" -> "ধ-রণ"), a letter with no ASCII base was
-- dropped ("altyapı" -> "altyap", "Straße" -> "strae"), and a non-Latin subject of two words
-- became "unassigned". The next run reads and parses again the live pages whose subject holds
-- a letter other than an ASCII one, accented or not, so that their key is made anew (their
-- stored state matches no file: see 0013).
UPDATE documents SET content_hash = 'parse-again', file_mtime_ns = NULL
WHERE deleted_run IS NULL AND regexp_matches(strip_accents(subject), '[^\x00-\x7F]');
