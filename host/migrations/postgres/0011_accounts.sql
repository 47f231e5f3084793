-- People and their access: users, memberships with a role per tenant, custom roles, invitation
-- and reset tokens, server-side sessions and the security audit log. Tenants may have a parent
-- (a reseller) and a security policy; API keys gain an expiry and a last use.
ALTER TABLE tenants ADD COLUMN parent_id TEXT REFERENCES tenants(id);
ALTER TABLE tenants ADD COLUMN require_2fa BIGINT NOT NULL DEFAULT 0;
ALTER TABLE tenants ADD COLUMN password_max_age_days BIGINT;
CREATE INDEX tenants_by_parent ON tenants (parent_id) WHERE parent_id IS NOT NULL;

ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_at BIGINT;
ALTER TABLE api_keys ADD COLUMN created_by TEXT;

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    password_changed_at BIGINT,
    platform_admin BIGINT NOT NULL DEFAULT 0,
    totp_secret TEXT,
    totp_pending TEXT,
    totp_last_step BIGINT,
    recovery_codes TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    disabled_at BIGINT
);

CREATE TABLE roles (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE memberships (
    user_id TEXT NOT NULL REFERENCES users(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_by_tenant ON memberships (tenant_id);

CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    email TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants(id),
    role TEXT,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX account_tokens_by_tenant ON account_tokens (tenant_id, created_at);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    address TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    ended_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions (user_id, created_at);

CREATE TABLE security_events (
    seq BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    tenant_id TEXT,
    actor TEXT NOT NULL,
    via TEXT,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    address TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX security_events_by_tenant ON security_events (tenant_id, seq);
