-- A tenant the platform suspended: its deliveries are still accepted and queued, but none of its
-- jobs is claimed until it is resumed. The partial index keeps the claim's exclusion cheap.
ALTER TABLE tenants ADD COLUMN suspended_at BIGINT;
ALTER TABLE tenants ADD COLUMN suspended_reason TEXT;
CREATE INDEX tenants_suspended ON tenants (id) WHERE suspended_at IS NOT NULL;
