-- Full-text search over message text and case subjects (the inbox's text
-- filter; a subject row has message_id ''). An FTS5
-- table of its own (case_id beside the text) rather than an external-content
-- table: messages has no INTEGER PRIMARY KEY, so its rowids are not stable
-- across VACUUM. Triggers keep it in step with every writer.
CREATE VIRTUAL TABLE message_search USING fts5(case_id UNINDEXED, message_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO message_search (case_id, message_id, body) SELECT case_id, id, text FROM messages WHERE text <> '';
CREATE TRIGGER message_search_insert AFTER INSERT ON messages WHEN new.text <> '' BEGIN
    INSERT INTO message_search (case_id, message_id, body) VALUES (new.case_id, new.id, new.text);
END;
-- Parley never edits a message's text or case, nor deletes messages; these
-- two keep the index right if that changes (message_id is not indexed in
-- FTS5, so each is a scan: fine for rare single rows, not for bulk work).
CREATE TRIGGER message_search_update AFTER UPDATE OF text, case_id ON messages BEGIN
    DELETE FROM message_search WHERE message_id = old.id;
    INSERT INTO message_search (case_id, message_id, body) SELECT new.case_id, new.id, new.text WHERE new.text <> '';
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE message_id = old.id;
END;
INSERT INTO message_search (case_id, message_id, body) SELECT id, '', subject FROM cases WHERE subject <> '';
CREATE TRIGGER case_subject_search_insert AFTER INSERT ON cases WHEN new.subject <> '' BEGIN
    INSERT INTO message_search (case_id, message_id, body) VALUES (new.id, '', new.subject);
END;
-- Subjects change only when someone edits one (a scan, as above: rare).
CREATE TRIGGER case_subject_search_update AFTER UPDATE OF subject ON cases BEGIN
    DELETE FROM message_search WHERE case_id = old.id AND message_id = '';
    INSERT INTO message_search (case_id, message_id, body) SELECT new.id, '', new.subject WHERE new.subject <> '';
END;
-- The inbox's default order (newest activity first) for any status set.
CREATE INDEX cases_workspace_activity ON cases (workspace_id, last_message_at, id);
