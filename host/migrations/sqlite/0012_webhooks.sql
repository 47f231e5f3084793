-- Outbound webhooks: tenants' endpoints, and one durable delivery per event and endpoint (SQLite).
-- (0011 is reserved for the accounts migration on another branch.)
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,                  -- JSON array of event names, as the service writes it
    secret TEXT NOT NULL,                  -- sealed signing secret (owner: the endpoint)
    auth TEXT,                             -- sealed JSON: none / basic / header; NULL is none
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);
-- Emission looks up a tenant's enabled endpoints on every finished job.
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id) WHERE disabled_at IS NULL;

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,                   -- also the envelope id and the signature nonce
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id),
    tenant_id TEXT NOT NULL,
    event TEXT NOT NULL,
    payload TEXT NOT NULL,                 -- the event's `data` (JSON); the envelope is built at send time
    state TEXT NOT NULL,                   -- pending | succeeded | failed
    attempts INTEGER NOT NULL DEFAULT 0,   -- attempts whose result was recorded
    next_attempt_at BIGINT NOT NULL,
    lease_until BIGINT,                    -- set by a claim; also the claim's token
    last_status INTEGER,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
-- Claims walk the due deliveries in time order; finished ones leave the index.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';
-- An endpoint's deliveries, newest first.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at);
