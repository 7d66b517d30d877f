-- The hard-bounce list. Times are Unix milliseconds.
CREATE TABLE email_bounces (
    email      TEXT PRIMARY KEY,
    bounced_at INTEGER NOT NULL,
    reason     TEXT NOT NULL
) STRICT;
CREATE INDEX email_bounces_by_time ON email_bounces (bounced_at);
