-- What messaging leaves behind. Times are Unix milliseconds; days are
-- 'YYYY-MM-DD' in UTC.
CREATE TABLE dispatches (
    dispatch_id TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL DEFAULT '',
    send_id     TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX dispatches_by_send ON dispatches (campaign_id, send_id);
-- Each user's message history: one row per outcome of a message.
CREATE TABLE message_events (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    dispatch_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    braze_id    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX message_events_by_user ON message_events (braze_id, id);
CREATE INDEX message_events_by_dispatch ON message_events (dispatch_id, id);
-- The counters send statistics read.
CREATE TABLE message_stats (
    dispatch_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    day         TEXT NOT NULL,
    count       INTEGER NOT NULL,
    PRIMARY KEY (dispatch_id, channel, outcome, day)
) STRICT, WITHOUT ROWID;
-- Send ids made by /sends/id/create.
CREATE TABLE send_ids (
    campaign_id TEXT NOT NULL,
    send_id     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, send_id)
) STRICT;
CREATE INDEX send_ids_by_time ON send_ids (created_at);
