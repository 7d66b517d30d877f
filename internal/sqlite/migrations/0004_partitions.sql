-- The ingest log's one partition is leased like PostgreSQL's many, so that
-- the applier code is the same for both backends; and profiles carry a
-- version for PutProfile's optimistic check. Times are Unix milliseconds.
CREATE TABLE leases (
    partition INTEGER PRIMARY KEY,
    owner     TEXT,
    epoch     INTEGER NOT NULL DEFAULT 0,
    expires   INTEGER NOT NULL DEFAULT 0
) STRICT;
INSERT INTO leases (partition) VALUES (0);

CREATE TABLE nodes (
    id      TEXT PRIMARY KEY,
    expires INTEGER NOT NULL
) STRICT;

ALTER TABLE profiles ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
