-- Small durable state of self-receiving adapters (an IMAP mailbox's
-- UIDVALIDITY and last UID), per point of contact.
CREATE TABLE channel_state (
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    key                  TEXT NOT NULL,
    value                TEXT NOT NULL,
    updated_at           BIGINT NOT NULL,
    PRIMARY KEY (point_of_contact_id, key)
);

-- SMS opt-outs (STOP / START) per address and point of contact.
CREATE TABLE contact_optouts (
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    address              TEXT NOT NULL,
    opted_out_at         BIGINT NOT NULL,
    PRIMARY KEY (point_of_contact_id, address)
);

-- Sanitised HTML of an email, kept beside its text.
ALTER TABLE messages ADD COLUMN html TEXT;
-- Bounces and auto-replies: kept on their thread, never opening a case.
ALTER TABLE messages ADD COLUMN automated BOOLEAN NOT NULL DEFAULT FALSE;
