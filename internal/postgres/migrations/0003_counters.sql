-- Rate-limit counters shared by every node: one row per key and fixed
-- window. Times are Unix seconds (windows are whole seconds).
CREATE TABLE rate_counters (
    key          text NOT NULL,
    window_start bigint NOT NULL,
    expires      bigint NOT NULL, -- the window's end
    n            bigint NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_by_expires ON rate_counters (expires);
