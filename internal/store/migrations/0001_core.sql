-- Core schema of the digital inbox. One file serves SQLite and PostgreSQL:
-- ids are application-made UUIDv7 strings, times are unix microseconds
-- (BIGINT), JSON documents are TEXT. A dialect-specific variant of a
-- migration sits beside it as NNNN_name.sqlite.sql / NNNN_name.postgres.sql.
-- Every row carries workspace_id; every query filters by it.

CREATE TABLE workspaces (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    settings    TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces(id),
    email               TEXT NOT NULL,
    name                TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('admin','supervisor','agent')),
    password_hash       TEXT NOT NULL DEFAULT '',
    channel_permissions TEXT NOT NULL DEFAULT '{}',
    disabled            BOOLEAN NOT NULL DEFAULT FALSE,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_email ON users (email);
CREATE INDEX users_workspace ON users (workspace_id, created_at);

CREATE TABLE api_tokens (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    name          TEXT NOT NULL,
    token_hash    TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (workspace_id, user_id);

CREATE TABLE sessions (
    id_hash       TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (workspace_id, user_id);

CREATE TABLE teams (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (workspace_id, name);

CREATE TABLE team_members (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    team_id       TEXT NOT NULL REFERENCES teams(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    PRIMARY KEY (team_id, user_id)
);

CREATE TABLE skills (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX skills_name ON skills (workspace_id, name);

CREATE TABLE user_skills (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    skill_id      TEXT NOT NULL REFERENCES skills(id),
    proficiency   BIGINT NOT NULL DEFAULT 5,
    PRIMARY KEY (user_id, skill_id)
);

CREATE TABLE points_of_contact (
    id                  TEXT PRIMARY KEY,
    workspace_id        TEXT NOT NULL REFERENCES workspaces(id),
    type                TEXT NOT NULL,
    name                TEXT NOT NULL,
    settings            TEXT NOT NULL DEFAULT '{}',
    credentials         TEXT NOT NULL DEFAULT '',
    inbound_token_hash  TEXT,
    default_skill_id    TEXT REFERENCES skills(id),
    default_script      TEXT NOT NULL DEFAULT '',
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    deleted_at          BIGINT
);
CREATE INDEX points_of_contact_workspace ON points_of_contact (workspace_id, created_at);

CREATE TABLE contacts (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    name           TEXT NOT NULL DEFAULT '',
    email          TEXT NOT NULL DEFAULT '',
    phone          TEXT NOT NULL DEFAULT '',
    custom_fields  TEXT NOT NULL DEFAULT '{}',
    merged_into    TEXT REFERENCES contacts(id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX contacts_workspace ON contacts (workspace_id, created_at);

CREATE TABLE contact_identities (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    contact_id           TEXT NOT NULL REFERENCES contacts(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    channel_type         TEXT NOT NULL,
    address              TEXT NOT NULL,
    display_name         TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX contact_identities_address ON contact_identities (point_of_contact_id, address);
CREATE INDEX contact_identities_contact ON contact_identities (workspace_id, contact_id);

CREATE TABLE threads (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    contact_id           TEXT NOT NULL REFERENCES contacts(id),
    external_id          TEXT NOT NULL,
    name                 TEXT NOT NULL DEFAULT '',
    pending_prompt       TEXT,
    created_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX threads_external ON threads (point_of_contact_id, external_id);
CREATE INDEX threads_contact ON threads (workspace_id, contact_id);

CREATE TABLE cases (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    thread_id            TEXT NOT NULL REFERENCES threads(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    channel_type         TEXT NOT NULL,
    contact_id           TEXT NOT NULL REFERENCES contacts(id),
    status               TEXT NOT NULL CHECK (status IN ('new','open','pending','escalated','resolved','closed','trashed')),
    trashed_from         TEXT NOT NULL DEFAULT '',
    priority             BIGINT NOT NULL DEFAULT 0,
    skill_id             TEXT REFERENCES skills(id),
    assignee_id          TEXT REFERENCES users(id),
    owner_id             TEXT REFERENCES users(id),
    subject              TEXT NOT NULL DEFAULT '',
    custom_fields        TEXT NOT NULL DEFAULT '{}',
    search_text          TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    -- Conversation activity; not indexed on purpose: it changes with every
    -- message, and lists sort the cases their filters select.
    last_message_at      BIGINT NOT NULL,
    last_inbound_at      BIGINT,
    first_response_at    BIGINT,
    resolved_at          BIGINT,
    closed_at            BIGINT
);
-- At most one case per thread is not closed: inbound traffic lands in it.
CREATE UNIQUE INDEX cases_one_active_per_thread ON cases (thread_id) WHERE status <> 'closed';
CREATE INDEX cases_workspace_updated ON cases (workspace_id, updated_at, id);
-- Status filters sort the (few) matching cases; keeping updated_at out of
-- this index spares a page write on every inbound message.
CREATE INDEX cases_workspace_status ON cases (workspace_id, status);
CREATE INDEX cases_contact ON cases (workspace_id, contact_id);

CREATE TABLE case_tags (
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    case_id       TEXT NOT NULL REFERENCES cases(id),
    tag           TEXT NOT NULL,
    PRIMARY KEY (case_id, tag)
);
CREATE INDEX case_tags_tag ON case_tags (workspace_id, tag);

CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    case_id              TEXT NOT NULL REFERENCES cases(id),
    thread_id            TEXT NOT NULL REFERENCES threads(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    direction            TEXT NOT NULL CHECK (direction IN ('inbound','outbound')),
    author_type          TEXT NOT NULL CHECK (author_type IN ('contact','agent','bot','system')),
    author_id            TEXT NOT NULL DEFAULT '',
    text                 TEXT NOT NULL DEFAULT '',
    content              TEXT,
    rendered             TEXT,
    platform_message_id  TEXT,
    status               TEXT NOT NULL CHECK (status IN ('received','pending','sent','delivered','read','failed')),
    status_reason        TEXT NOT NULL DEFAULT '',
    visibility           TEXT NOT NULL DEFAULT 'private',
    hidden               BOOLEAN NOT NULL DEFAULT FALSE,
    deleted              BOOLEAN NOT NULL DEFAULT FALSE,
    platform_sent_at     BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL,
    sent_at              BIGINT,
    delivered_at         BIGINT,
    read_at              BIGINT,
    failed_at            BIGINT
);
-- The dedupe key: a platform's message id makes one message per point of
-- contact and direction, however often the platform retries.
CREATE UNIQUE INDEX messages_platform_id ON messages (point_of_contact_id, direction, platform_message_id);
CREATE INDEX messages_case ON messages (workspace_id, case_id, created_at, id);

CREATE TABLE attachments (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    message_id    TEXT NOT NULL REFERENCES messages(id),
    name          TEXT NOT NULL DEFAULT '',
    mime_type     TEXT NOT NULL,
    size          BIGINT NOT NULL,
    sha256        TEXT NOT NULL,
    blob_key      TEXT NOT NULL,
    source_url    TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL
);
CREATE INDEX attachments_message ON attachments (workspace_id, message_id);

CREATE TABLE notes (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    case_id       TEXT NOT NULL REFERENCES cases(id),
    author_id     TEXT NOT NULL REFERENCES users(id),
    body          TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX notes_case ON notes (workspace_id, case_id, created_at);

-- Outbound work: one row per message to deliver. Claimed with a lease so a
-- crashed node's work is picked up again; delivered in order per thread.
CREATE TABLE deliveries (
    id                   TEXT PRIMARY KEY,
    workspace_id         TEXT NOT NULL REFERENCES workspaces(id),
    message_id           TEXT NOT NULL REFERENCES messages(id),
    thread_id            TEXT NOT NULL REFERENCES threads(id),
    point_of_contact_id  TEXT NOT NULL REFERENCES points_of_contact(id),
    state                TEXT NOT NULL CHECK (state IN ('pending','done','failed')),
    attempts             BIGINT NOT NULL DEFAULT 0,
    next_attempt_at      BIGINT NOT NULL,
    locked_until         BIGINT NOT NULL DEFAULT 0,
    locked_by            TEXT NOT NULL DEFAULT '',
    last_error           TEXT NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_thread ON deliveries (thread_id, state, created_at);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    actor_type    TEXT NOT NULL,
    actor_id      TEXT NOT NULL DEFAULT '',
    action        TEXT NOT NULL,
    entity_type   TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    details       TEXT NOT NULL DEFAULT '{}',
    created_at    BIGINT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (workspace_id, entity_type, entity_id, created_at);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, created_at);
