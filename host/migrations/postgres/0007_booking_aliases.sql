-- A platform's later ids of one meeting (a Cal.com reschedule's new uid, a Calendly reschedule's
-- new scheduled event) mapped to the meeting's first id, so a chain of moves and the
-- cancellation at its end reach the same jobs and records.
CREATE TABLE booking_aliases (
    tenant_id TEXT NOT NULL,
    alias TEXT NOT NULL,
    booking_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, alias)
);
