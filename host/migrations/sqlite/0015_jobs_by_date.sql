-- The console's job list filtered by date: the last job a tenant received before a time, found
-- without scanning its newer jobs (the list then pages by id from there).
CREATE INDEX jobs_tenant_created ON jobs (tenant_id, created_at);
