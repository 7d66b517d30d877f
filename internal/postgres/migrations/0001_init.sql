-- Brazen's PostgreSQL schema: the same data as the SQLite store. Times are
-- Unix milliseconds, as there, so both backends round them alike.
CREATE TABLE workspaces (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    created_at   bigint NOT NULL,
    bootstrapped boolean NOT NULL DEFAULT false
);

CREATE TABLE api_keys (
    id           text PRIMARY KEY,
    workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL,
    key_hash     bytea NOT NULL UNIQUE,
    permissions  text NOT NULL, -- JSON array of Braze permission names
    allowed_ips  text NOT NULL, -- JSON array of CIDR prefixes
    created_at   bigint NOT NULL,
    last_used_at bigint
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, created_at);

CREATE TABLE admin_tokens (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   bigint NOT NULL,
    last_used_at bigint
);
