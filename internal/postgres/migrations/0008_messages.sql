-- What messaging leaves behind. Times are Unix milliseconds; days are
-- dates in UTC.
CREATE TABLE dispatches (
    dispatch_id text PRIMARY KEY,
    campaign_id text NOT NULL DEFAULT '',
    send_id     text NOT NULL DEFAULT '',
    created_at  bigint NOT NULL
);
CREATE INDEX dispatches_by_send ON dispatches (campaign_id, send_id);
-- Each user's message history: one row per outcome of a message.
CREATE TABLE message_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          bigint NOT NULL,
    dispatch_id text NOT NULL,
    channel     text NOT NULL,
    braze_id    text NOT NULL,
    outcome     text NOT NULL,
    detail      text NOT NULL DEFAULT ''
);
CREATE INDEX message_events_by_user ON message_events (braze_id, id);
CREATE INDEX message_events_by_dispatch ON message_events (dispatch_id, id);
-- The counters send statistics read.
CREATE TABLE message_stats (
    dispatch_id text NOT NULL,
    channel     text NOT NULL,
    outcome     text NOT NULL,
    day         date NOT NULL,
    count       bigint NOT NULL,
    PRIMARY KEY (dispatch_id, channel, outcome, day)
);
-- Send ids made by /sends/id/create.
CREATE TABLE send_ids (
    campaign_id text NOT NULL,
    send_id     text NOT NULL,
    created_at  bigint NOT NULL,
    PRIMARY KEY (campaign_id, send_id)
);
CREATE INDEX send_ids_by_time ON send_ids (created_at);
