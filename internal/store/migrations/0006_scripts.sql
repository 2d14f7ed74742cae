-- Default scripts (internal/script). A script keeps every version of its
-- source: saving creates a new version and moves current_version; old
-- versions stay readable (history, rollback). Deleting is soft, so the
-- history survives and the name becomes free again.
-- points_of_contact.default_script holds a script id.

CREATE TABLE scripts (
    id               TEXT PRIMARY KEY,
    workspace_id     TEXT NOT NULL REFERENCES workspaces(id),
    name             TEXT NOT NULL,
    current_version  BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    deleted_at       BIGINT
);
CREATE UNIQUE INDEX scripts_name ON scripts (workspace_id, name) WHERE deleted_at IS NULL;
CREATE INDEX scripts_workspace ON scripts (workspace_id, created_at);

CREATE TABLE script_versions (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    script_id     TEXT NOT NULL REFERENCES scripts(id),
    version       BIGINT NOT NULL,
    source        TEXT NOT NULL,
    created_by    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (script_id, version)
);
