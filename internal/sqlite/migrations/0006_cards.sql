-- Content cards, per user, until they expire. Times are Unix milliseconds.
CREATE TABLE content_cards (
    id          TEXT PRIMARY KEY,
    dispatch_id TEXT NOT NULL,
    braze_id    TEXT NOT NULL,
    card        BLOB NOT NULL,
    expires_at  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX content_cards_by_user ON content_cards (braze_id, expires_at);
