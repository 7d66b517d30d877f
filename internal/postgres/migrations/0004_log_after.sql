-- Each ingest log record remembers every partition's head when it was
-- appended (16 big-endian int64s), so that appliers can keep the order of a
-- client's writes across partitions.
ALTER TABLE ingest_log ADD COLUMN after bytea;
