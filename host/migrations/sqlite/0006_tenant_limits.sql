-- Per-tenant sandbox limits (JSON of the limits that differ from the service's defaults).
ALTER TABLE tenants ADD COLUMN limits TEXT;
