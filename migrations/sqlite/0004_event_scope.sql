-- Which certificate's live status an event changes: its number, '*' when it may change any
-- (an enterprise's details, printed on all its certificates), NULL when it changes none.
-- Every instance follows the event log to know which cached statuses a change made stale,
-- so a cached verdict never outlives a committed change, whether or not Redis is up.
ALTER TABLE events ADD COLUMN touches TEXT;
