-- The delivery queue: one row per (dispatch, user, channel), keyed for
-- idempotency. not_before is when the job may next be claimed: the end of
-- its backoff while pending, of its lease while leased (by the database's
-- clock); worker holds the lease. Times are Unix milliseconds.
CREATE TABLE jobs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key         text NOT NULL UNIQUE,
    dispatch_id text NOT NULL,
    channel     text NOT NULL,
    braze_id    text NOT NULL,
    state       text NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
    attempts    integer NOT NULL DEFAULT 0,
    not_before  bigint NOT NULL,
    worker      text,
    last_error  text NOT NULL DEFAULT '',
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    payload     bytea NOT NULL
);
-- Claims read these in (not_before, id) order and stop at the first job not
-- due; only live jobs are in them, so finished ones cost claims nothing.
CREATE INDEX jobs_claimable ON jobs (not_before, id) WHERE state IN ('pending', 'leased');
CREATE INDEX jobs_claimable_by_channel ON jobs (channel, not_before, id) WHERE state IN ('pending', 'leased');
-- A dispatch's progress and its jobs.
CREATE INDEX jobs_by_dispatch ON jobs (dispatch_id, state, id);
-- The dead letters, newest first.
CREATE INDEX jobs_dead ON jobs (id) WHERE state = 'dead';
-- A user's messages.
CREATE INDEX jobs_by_user ON jobs (braze_id);
