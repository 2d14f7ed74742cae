-- Full-text search over message text and case subjects (the inbox's text filter): a GIN
-- index on the 'simple' configuration (no stemming, any language).
CREATE INDEX messages_text_search ON messages USING GIN (to_tsvector('simple', text));
CREATE INDEX cases_subject_search ON cases USING GIN (to_tsvector('simple', subject));
-- The inbox's default order (newest activity first) for any status set.
CREATE INDEX cases_workspace_activity ON cases (workspace_id, last_message_at, id);
