-- Every event's place in the order events were committed, for readers that follow the whole
-- store (the search index catches up from the last place it read). Every write takes the
-- audit chain's head row lock before it inserts events, so places are taken in commit order.
ALTER TABLE events ADD COLUMN position BIGSERIAL;
CREATE INDEX events_position ON events(position);
CREATE VIEW event_positions AS
    SELECT position, stream_id, version, tenant_id, event_type, payload FROM events;
