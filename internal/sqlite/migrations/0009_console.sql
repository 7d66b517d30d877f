-- Console accounts, their session and setup tokens, and the REST API's
-- request counts. Times are Unix milliseconds.
CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE, -- lower case
    password_hash TEXT NOT NULL,        -- PHC string
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER
) STRICT;
-- Tokens are kept as the SHA-256 of their secret; a setup token has no
-- account (admin_id '').
CREATE TABLE console_tokens (
    hash       BLOB PRIMARY KEY,
    kind       TEXT NOT NULL,
    admin_id   TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX console_tokens_by_expiry ON console_tokens (expires_at);
CREATE INDEX console_tokens_by_admin ON console_tokens (admin_id);
-- Requests by minute (the minute's start), route pattern and status.
CREATE TABLE api_usage (
    minute INTEGER NOT NULL,
    route  TEXT NOT NULL,
    status INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (minute, route, status)
) STRICT, WITHOUT ROWID;
