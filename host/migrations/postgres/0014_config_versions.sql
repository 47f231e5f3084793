-- Every saved plugin configuration, kept so the console can show history and diffs and revert.
CREATE TABLE config_versions (
    tenant_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    config TEXT NOT NULL,           -- JSON object of plugin settings, as saved
    created_by TEXT NOT NULL,       -- who saved it (`user:…`, `key:…`, `operator`)
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
