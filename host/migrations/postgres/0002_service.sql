-- The service: tenants, API keys, plugin versions, connections, ingestion nonces, audit (PostgreSQL).
CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    webhook_secret TEXT NOT NULL,          -- sealed (AES-256-GCM, key id prefix)
    active_digest TEXT,
    config TEXT NOT NULL DEFAULT '{}',     -- JSON object of plugin settings
    max_concurrency INT,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    prefix TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,             -- hex SHA-256 of the secret part
    tenant_id TEXT REFERENCES tenants (id),
    role TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE plugin_versions (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    digest TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    manifest TEXT NOT NULL,
    component BYTEA NOT NULL,
    size BIGINT NOT NULL,
    approved_grant TEXT,                   -- JSON grant, NULL until approved
    approved_at BIGINT,
    uploaded_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, digest)
);

CREATE TABLE activations (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    digest TEXT NOT NULL,
    previous_digest TEXT,
    activated_at BIGINT NOT NULL
);

CREATE TABLE connections (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id),
    kind TEXT NOT NULL,
    instance_url TEXT NOT NULL,
    login_url TEXT NOT NULL,
    client_id TEXT NOT NULL,
    username TEXT,
    secrets TEXT NOT NULL,                 -- sealed JSON of the grant's secrets
    updated_at BIGINT NOT NULL
);

CREATE TABLE oauth_states (
    state TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    pending TEXT NOT NULL,                 -- sealed JSON: verifier, client, urls
    expires_at BIGINT NOT NULL
);

CREATE TABLE nonces (
    tenant_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, nonce)
);
CREATE INDEX nonces_expiry ON nonces (expires_at);

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    job_id BIGINT NOT NULL,
    digest TEXT NOT NULL,
    sobject TEXT NOT NULL,
    record_id TEXT NOT NULL,
    created BOOLEAN NOT NULL,
    fields TEXT NOT NULL,                  -- JSON object of the fields written
    committed_at BIGINT NOT NULL
);
CREATE INDEX audit_tenant ON audit (tenant_id, id);
CREATE INDEX audit_job ON audit (job_id);

ALTER TABLE jobs ADD COLUMN digest TEXT;
ALTER TABLE jobs ADD COLUMN logs TEXT;
ALTER TABLE jobs ADD COLUMN usage TEXT;
CREATE INDEX jobs_tenant ON jobs (tenant_id, id);
