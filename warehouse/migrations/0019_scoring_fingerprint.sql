-- How each subject_quality row's scores were made: a fingerprint of the page marts' SQL, the
-- finding rules, the quality weights and the page analysis settings (warehouse.marts). A
-- row whose previous row (previous_run_id) was scored another way says so in
-- scoring_changed, so that a trend's step from new settings or a new release is not read
-- as a change of the content. Rows built before this release have no fingerprint: the next
-- run's rows compare with them as scored another way (NULL is not a known method).
ALTER TABLE subject_quality ADD COLUMN IF NOT EXISTS scoring_fingerprint VARCHAR;
ALTER TABLE subject_quality ADD COLUMN IF NOT EXISTS scoring_changed BOOLEAN;
