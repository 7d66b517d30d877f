-- User data: the applier's position in the ingest log (which lives in its
-- own file), profiles with their identifier indexes, events, purchases and
-- daily rollups. Times are Unix milliseconds.
CREATE TABLE applier_state (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
) STRICT;
INSERT INTO applier_state (id, position) VALUES (1, 0);

CREATE TABLE profiles (
    braze_id    TEXT PRIMARY KEY,
    external_id TEXT,
    email       TEXT,
    phone       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    data        BLOB NOT NULL -- the whole profile as JSON
) STRICT;
CREATE INDEX profiles_by_external_id ON profiles (external_id) WHERE external_id IS NOT NULL;
CREATE INDEX profiles_by_email ON profiles (email) WHERE email IS NOT NULL;
CREATE INDEX profiles_by_phone ON profiles (phone) WHERE phone IS NOT NULL;

CREATE TABLE user_aliases (
    alias_label TEXT NOT NULL,
    alias_name  TEXT NOT NULL,
    braze_id    TEXT NOT NULL,
    PRIMARY KEY (alias_label, alias_name)
) STRICT, WITHOUT ROWID;
CREATE INDEX user_aliases_by_braze_id ON user_aliases (braze_id);

CREATE TABLE deprecated_external_ids (
    external_id TEXT PRIMARY KEY,
    braze_id    TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX deprecated_external_ids_by_braze_id ON deprecated_external_ids (braze_id);

CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    braze_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    time       INTEGER NOT NULL,
    app_id     TEXT,
    properties TEXT
) STRICT;
CREATE INDEX events_by_braze_id ON events (braze_id);

CREATE TABLE purchases (
    id         INTEGER PRIMARY KEY,
    braze_id   TEXT NOT NULL,
    product_id TEXT NOT NULL,
    currency   TEXT NOT NULL,
    price      REAL NOT NULL,
    quantity   INTEGER NOT NULL,
    time       INTEGER NOT NULL,
    app_id     TEXT,
    properties TEXT
) STRICT;
CREATE INDEX purchases_by_braze_id ON purchases (braze_id);

CREATE TABLE rollups (
    kind    TEXT NOT NULL, -- event or purchase
    name    TEXT NOT NULL,
    day     TEXT NOT NULL, -- YYYY-MM-DD, UTC
    count   INTEGER NOT NULL,
    revenue REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, name, day)
) STRICT, WITHOUT ROWID;
