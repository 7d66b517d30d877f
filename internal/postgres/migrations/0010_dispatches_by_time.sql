-- The newest dispatches, for the console's recent sends.
CREATE INDEX dispatches_by_time ON dispatches (created_at);
