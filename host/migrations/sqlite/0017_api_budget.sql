-- A tenant's share of its org's daily Salesforce API allowance, what Portico spent of it each UTC
-- day, and a pause: while `api_paused_until` is ahead, none of the tenant's jobs is claimed (its
-- deliveries are still accepted and queued). The partial index keeps the claim's exclusion cheap.
ALTER TABLE tenants ADD COLUMN api_daily_budget BIGINT;
ALTER TABLE tenants ADD COLUMN api_paused_until BIGINT;
ALTER TABLE tenants ADD COLUMN api_paused_reason TEXT;
CREATE INDEX tenants_api_paused ON tenants (id) WHERE api_paused_until IS NOT NULL;
CREATE TABLE api_usage (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day BIGINT NOT NULL,
    calls BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
