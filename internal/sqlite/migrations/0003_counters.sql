-- Rate-limit counters shared by every node on the store: one row per key and
-- fixed window. Times are Unix seconds (windows are whole seconds), not
-- milliseconds like the other tables.
CREATE TABLE rate_counters (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    expires      INTEGER NOT NULL, -- the window's end
    n            INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;
-- So that looking for ended windows on every write costs a seek, not a scan.
CREATE INDEX rate_counters_by_expires ON rate_counters (expires);
