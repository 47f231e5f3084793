-- Claims walk `jobs_open` in id order and stop after a batch; an index on (state, run_after)
-- tempted the PostgreSQL planner to collect and sort the whole backlog for every claim.
DROP INDEX jobs_claimable;
-- Failed jobs are listed and replayed per tenant.
CREATE INDEX jobs_failed ON jobs (tenant_id, id) WHERE state = 'failed';
