-- When a run began committing a unit that creates records. A run that dies after this point
-- (or whose answer never came) may or may not have written them: the job is then `unknown`,
-- never retried blindly, and the tenant admin checks the org, then replays or marks it done.
ALTER TABLE jobs ADD COLUMN commit_started_at BIGINT;
