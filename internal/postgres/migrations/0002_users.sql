-- User data. The ingest log has 8 partitions, each with its head (the
-- appends' counter, locked briefly by each append) and its lease (owner,
-- epoch, applied position: written by the partition's applier).
CREATE TABLE ingest_log (
    partition integer NOT NULL,
    seq       bigint NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (partition, seq)
);

CREATE TABLE log_heads (
    partition integer PRIMARY KEY,
    head      bigint NOT NULL DEFAULT 0
);
INSERT INTO log_heads (partition) SELECT generate_series(0, 7);

CREATE TABLE leases (
    partition integer PRIMARY KEY,
    owner     text,
    epoch     bigint NOT NULL DEFAULT 0,
    expires   bigint NOT NULL DEFAULT 0, -- by the database's clock
    applied   bigint NOT NULL DEFAULT 0
);
INSERT INTO leases (partition) SELECT generate_series(0, 7);

CREATE TABLE nodes (
    id      text PRIMARY KEY,
    expires bigint NOT NULL
);

-- external_id is unique, checked at commit: two partitions' appliers cannot
-- both give one external id a profile, and a batch may move an id from one
-- profile to another in any order.
CREATE TABLE profiles (
    braze_id    text PRIMARY KEY,
    external_id text,
    email       text,
    phone       text,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    version     bigint NOT NULL,
    data        bytea NOT NULL, -- the whole profile as JSON
    CONSTRAINT profiles_external_id_key UNIQUE (external_id) DEFERRABLE INITIALLY DEFERRED
);
CREATE INDEX profiles_by_email ON profiles (email) WHERE email IS NOT NULL;
CREATE INDEX profiles_by_phone ON profiles (phone) WHERE phone IS NOT NULL;

CREATE TABLE user_aliases (
    alias_label text NOT NULL,
    alias_name  text NOT NULL,
    braze_id    text NOT NULL,
    PRIMARY KEY (alias_label, alias_name)
);
CREATE INDEX user_aliases_by_braze_id ON user_aliases (braze_id);

CREATE TABLE deprecated_external_ids (
    external_id text PRIMARY KEY,
    braze_id    text NOT NULL
);
CREATE INDEX deprecated_external_ids_by_braze_id ON deprecated_external_ids (braze_id);

CREATE TABLE events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    braze_id   text NOT NULL,
    name       text NOT NULL,
    time       bigint NOT NULL,
    app_id     text,
    properties text
);
CREATE INDEX events_by_braze_id ON events (braze_id);

CREATE TABLE purchases (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    braze_id   text NOT NULL,
    product_id text NOT NULL,
    currency   text NOT NULL,
    price      double precision NOT NULL,
    quantity   integer NOT NULL,
    time       bigint NOT NULL,
    app_id     text,
    properties text
);
CREATE INDEX purchases_by_braze_id ON purchases (braze_id);

CREATE TABLE rollups (
    kind    text NOT NULL, -- event or purchase
    name    text NOT NULL,
    day     text NOT NULL, -- YYYY-MM-DD, UTC
    count   bigint NOT NULL,
    revenue double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, name, day)
);
