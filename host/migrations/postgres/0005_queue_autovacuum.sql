-- The jobs table is a queue: rows change state quickly. Analyze and vacuum it far more often
-- than the defaults (10 % / 20 % of the table) so the planner keeps walking `jobs_open` in id
-- order for claims and dead index entries do not pile up.
ALTER TABLE jobs SET (
    autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 500,
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 500
);
