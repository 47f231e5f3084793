-- Claims look only at unfinished jobs: a partial index keeps a claim's cost independent of how
-- many jobs have succeeded.
CREATE INDEX jobs_open ON jobs (id) WHERE state IN ('pending', 'running');
