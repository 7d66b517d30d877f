-- Console accounts, their session and setup tokens, and the REST API's
-- request counts. Times are Unix milliseconds.
CREATE TABLE admins (
    id            text PRIMARY KEY,
    email         text NOT NULL UNIQUE, -- lower case
    password_hash text NOT NULL,        -- PHC string
    created_at    bigint NOT NULL,
    last_login_at bigint
);
-- Tokens are kept as the SHA-256 of their secret; a setup token has no
-- account (admin_id '').
CREATE TABLE console_tokens (
    hash       bytea PRIMARY KEY,
    kind       text NOT NULL,
    admin_id   text NOT NULL DEFAULT '',
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX console_tokens_by_expiry ON console_tokens (expires_at);
CREATE INDEX console_tokens_by_admin ON console_tokens (admin_id);
-- Requests by minute (the minute's start), route pattern and status. Routes
-- compare byte by byte (COLLATE "C"), as in SQLite, so both backends list
-- them in the same order whatever the database's collation, and nodes
-- adding counts lock the rows in one order.
CREATE TABLE api_usage (
    minute bigint NOT NULL,
    route  text COLLATE "C" NOT NULL,
    status integer NOT NULL,
    count  bigint NOT NULL,
    PRIMARY KEY (minute, route, status)
);
