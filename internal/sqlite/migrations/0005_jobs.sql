-- The delivery queue: one row per (dispatch, user, channel), keyed for
-- idempotency. not_before is when the job may next be claimed: the end of
-- its backoff while pending, of its lease while leased; worker holds the
-- lease. Times are Unix milliseconds. AUTOINCREMENT: an id is never reused,
-- so a worker holding an old id can never complete someone else's job.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    key         TEXT NOT NULL UNIQUE,
    dispatch_id TEXT NOT NULL,
    channel     TEXT NOT NULL,
    braze_id    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'done', 'dead')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  INTEGER NOT NULL,
    worker      TEXT,
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    payload     BLOB NOT NULL -- last: KBs, usually on overflow pages
) STRICT;
-- Claims read these in (not_before, id) order and stop at the first job not
-- due; only live jobs are in them, so finished ones cost claims nothing.
CREATE INDEX jobs_claimable ON jobs (not_before) WHERE state IN ('pending', 'leased');
CREATE INDEX jobs_claimable_by_channel ON jobs (channel, not_before) WHERE state IN ('pending', 'leased');
-- A dispatch's progress (JobCounts reads only this index) and its jobs.
CREATE INDEX jobs_by_dispatch ON jobs (dispatch_id, state);
-- The dead letters, newest first.
CREATE INDEX jobs_dead ON jobs (id) WHERE state = 'dead';
-- A user's messages.
CREATE INDEX jobs_by_user ON jobs (braze_id);
