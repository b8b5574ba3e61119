-- Every event's place in the order events were committed, for readers that follow the whole
-- store (the search index catches up from the last place it read). SQLite writes one
-- transaction at a time and never deletes an event, so the rowid is that place.
CREATE VIEW event_positions AS
    SELECT rowid AS position, stream_id, version, tenant_id, event_type, payload FROM events;
