-- Full-text search over message text and case subjects (the inbox's text
-- filter; a subject row has message_id ''). An FTS5 table of its own
-- (case_id beside the text) rather than an external-content table: messages
-- has no INTEGER PRIMARY KEY, so its rowids are not stable across VACUUM.
--
-- Indexing is not on the ingest path: tokenising every message inside the
-- ingest transaction cost about a third of SQLite's ingest rate. A trigger
-- only queues the row (one small insert); the inbox's search indexer moves
-- the queue into the index in batches, and a search first catches up with
-- the queue, so it always sees every committed message.
CREATE VIRTUAL TABLE message_search USING fts5(case_id UNINDEXED, message_id UNINDEXED, body, tokenize = 'unicode61 remove_diacritics 2');
INSERT INTO message_search (case_id, message_id, body) SELECT case_id, id, text FROM messages WHERE text <> '';
INSERT INTO message_search (case_id, message_id, body) SELECT id, '', subject FROM cases WHERE subject <> '';

-- What is still to index: a message (message_id set) or a case's subject
-- (message_id '').
CREATE TABLE message_search_queue (
    seq         INTEGER PRIMARY KEY,
    case_id     TEXT NOT NULL,
    message_id  TEXT NOT NULL
);
CREATE TRIGGER message_search_enqueue AFTER INSERT ON messages WHEN new.text <> '' BEGIN
    INSERT INTO message_search_queue (case_id, message_id) VALUES (new.case_id, new.id);
END;
CREATE TRIGGER case_subject_search_enqueue AFTER INSERT ON cases WHEN new.subject <> '' BEGIN
    INSERT INTO message_search_queue (case_id, message_id) VALUES (new.id, '');
END;
-- Rare changes are applied at once. Parley never edits a message's text or
-- case, nor deletes messages; subjects change only when someone edits one.
-- message_id is not indexed in FTS5, so each of these is a scan: fine for
-- single rows, not for bulk work.
CREATE TRIGGER message_search_update AFTER UPDATE OF text, case_id ON messages BEGIN
    DELETE FROM message_search WHERE message_id = old.id;
    INSERT INTO message_search (case_id, message_id, body) SELECT new.case_id, new.id, new.text WHERE new.text <> '';
END;
CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_search WHERE message_id = old.id;
END;
CREATE TRIGGER case_subject_search_update AFTER UPDATE OF subject ON cases BEGIN
    DELETE FROM message_search WHERE case_id = old.id AND message_id = '';
    DELETE FROM message_search_queue WHERE case_id = old.id AND message_id = '';
    INSERT INTO message_search (case_id, message_id, body) SELECT new.id, '', new.subject WHERE new.subject <> '';
END;

-- The inbox's default order (newest activity first) for any status set.
CREATE INDEX cases_workspace_activity ON cases (workspace_id, last_message_at, id);
