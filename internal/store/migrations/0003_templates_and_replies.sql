-- Quoted replies and reactions point at another message by its platform id.
ALTER TABLE messages ADD COLUMN reply_to_platform_id TEXT;
-- An emoji reaction to reply_to_platform_id (the message text is the emoji).
ALTER TABLE messages ADD COLUMN reaction TEXT NOT NULL DEFAULT '';
-- A template message (WhatsApp) as sent: name, language, parameters.
ALTER TABLE messages ADD COLUMN template TEXT;

-- Message templates synchronised from the platform (WhatsApp), per point
-- of contact. Only approved ones may be sent.
CREATE TABLE templates (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    name                 TEXT NOT NULL,
    language             TEXT NOT NULL,
    category             TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL,
    components           TEXT NOT NULL DEFAULT '[]',
    parameters           TEXT NOT NULL DEFAULT '[]',
    synced_at            BIGINT NOT NULL
);
CREATE UNIQUE INDEX templates_name ON templates (point_of_contact_id, name, language);
