-- Saved inbox views: a user's inbox filters kept under a name, private to
-- them or shared with the whole workspace (supervisors and administrators
-- share). filters is a JSON document (inbox.ViewFilters).
CREATE TABLE saved_views (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    shared        BOOLEAN NOT NULL DEFAULT FALSE,
    filters       TEXT NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
-- One name per owner, whatever its case ("Billing" and "billing" would be
-- two links nobody can tell apart).
CREATE UNIQUE INDEX saved_views_name ON saved_views (workspace_id, user_id, LOWER(name));
CREATE INDEX saved_views_shared ON saved_views (workspace_id, shared);
