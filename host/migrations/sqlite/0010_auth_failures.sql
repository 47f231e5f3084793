-- Failed authentications per client address, shared by every replica: the lockout holds
-- whichever replica the next attempt reaches.
CREATE TABLE auth_failures (
    address TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT
);
