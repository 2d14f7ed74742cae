-- Likely-duplicate lookups (inbox.LikelyDuplicates) compare contacts on
-- normalised email, phone digits and name. These expression indexes are
-- built on exactly the expressions the lookup uses; partial, so contacts
-- without an email or phone cost nothing.
CREATE INDEX contacts_email_key ON contacts (workspace_id, LOWER(TRIM(email))) WHERE email <> '';
CREATE INDEX contacts_phone_key ON contacts (workspace_id, REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''), '+', ''), '/', '')) WHERE phone <> '';
CREATE INDEX contacts_name_key ON contacts (workspace_id, LOWER(TRIM(name))) WHERE name <> '';
