-- Content cards, per user, until they expire. Times are Unix milliseconds.
CREATE TABLE content_cards (
    id          text PRIMARY KEY,
    dispatch_id text NOT NULL,
    braze_id    text NOT NULL,
    card        bytea NOT NULL,
    expires_at  bigint NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX content_cards_by_user ON content_cards (braze_id, expires_at);
