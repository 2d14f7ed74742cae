-- Moderation of customers' public messages (MISSION §1: hide, delete,
-- like). hidden and deleted exist since 0001; liked is new.
ALTER TABLE messages ADD COLUMN liked BOOLEAN NOT NULL DEFAULT FALSE;
