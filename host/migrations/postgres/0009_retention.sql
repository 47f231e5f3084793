-- Retention: personal data is kept only as long as it is needed (PostgreSQL).
--
-- When a finished job's booking payload, logs, usage and error text were dropped (by age, or by
-- an erasure); the row itself (ids, state, booking id, kind, plugin version) stays.
ALTER TABLE jobs ADD COLUMN purged_at BIGINT;
-- The purge finds finished jobs not yet purged by when they finished, without walking the rows
-- it purged before; an entry is added when a job finishes and leaves when it is purged.
CREATE INDEX jobs_unpurged ON jobs (updated_at) WHERE purged_at IS NULL AND state IN ('succeeded', 'failed');
-- When an audit row's field values were dropped (its ids and field names stay).
ALTER TABLE audit ADD COLUMN redacted_at BIGINT;
CREATE INDEX audit_unredacted ON audit (committed_at) WHERE redacted_at IS NULL;
-- One row per erasure of a person's data: who asked, what was removed, never the email itself
-- (its SHA-256 answers "was this address erased?").
CREATE TABLE erasures (
    id BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    email_sha256 TEXT NOT NULL,            -- hex SHA-256 of the trimmed, lowercased address
    requested_by TEXT NOT NULL,
    jobs BIGINT NOT NULL,
    stopped BIGINT NOT NULL,
    audit_rows BIGINT NOT NULL,
    erased_at BIGINT NOT NULL
);
CREATE INDEX erasures_tenant ON erasures (tenant_id, id);
