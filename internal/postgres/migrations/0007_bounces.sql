-- The hard-bounce list. Times are Unix milliseconds.
CREATE TABLE email_bounces (
    email      text PRIMARY KEY,
    bounced_at bigint NOT NULL,
    reason     text NOT NULL
);
CREATE INDEX email_bounces_by_time ON email_bounces (bounced_at);
