-- The digital ACD (internal/routing).

-- Agents' presence and capacity. Capacity is per channel class (chat,
-- messaging, email, social) plus a total; loads are counted from cases and
-- pending offers, never stored, so nothing can drift.
CREATE TABLE agent_states (
    user_id        TEXT PRIMARY KEY REFERENCES users(id),
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    state          TEXT NOT NULL DEFAULT 'offline' CHECK (state IN ('available','away','offline')),
    away_reason    TEXT NOT NULL DEFAULT '',
    cap_chat       BIGINT NOT NULL DEFAULT 3,
    cap_messaging  BIGINT NOT NULL DEFAULT 5,
    cap_email      BIGINT NOT NULL DEFAULT 10,
    cap_social     BIGINT NOT NULL DEFAULT 10,
    cap_total      BIGINT NOT NULL DEFAULT 10,
    state_since    BIGINT NOT NULL,
    -- Longest idle first: when the agent last got work.
    last_work_at   BIGINT NOT NULL DEFAULT 0,
    -- Cases taken on work_day (UTC day number): fairness among equals.
    work_count     BIGINT NOT NULL DEFAULT 0,
    work_day       BIGINT NOT NULL DEFAULT 0,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX agent_states_workspace ON agent_states (workspace_id, state);
CREATE INDEX user_skills_skill ON user_skills (skill_id);

-- Queue behaviour and service levels per skill.
ALTER TABLE skills ADD COLUMN priority_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE skills ADD COLUMN priority_interval_seconds BIGINT NOT NULL DEFAULT 60;
ALTER TABLE skills ADD COLUMN priority_max BIGINT NOT NULL DEFAULT 100;
ALTER TABLE skills ADD COLUMN offer_timeout_seconds BIGINT NOT NULL DEFAULT 30;
ALTER TABLE skills ADD COLUMN sla_first_response_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE skills ADD COLUMN sla_next_response_seconds BIGINT NOT NULL DEFAULT 0;
ALTER TABLE skills ADD COLUMN sla_warning_percent BIGINT NOT NULL DEFAULT 80;
ALTER TABLE skills ADD COLUMN business_hours TEXT NOT NULL DEFAULT '';

-- Routing state of a case: '' (not routed), 'pending' (new, its script has
-- not run yet), 'queued' (waiting in its skill's queue), 'offered',
-- 'assigned'. A case waiting for routing is the queue: durable state.
ALTER TABLE cases ADD COLUMN routing_state TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN queued_at BIGINT;
ALTER TABLE cases ADD COLUMN last_reply_at BIGINT;
-- SLA: the running response timer.
ALTER TABLE cases ADD COLUMN sla_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN sla_started_at BIGINT;
ALTER TABLE cases ADD COLUMN sla_warn_at BIGINT;
ALTER TABLE cases ADD COLUMN sla_due_at BIGINT;
ALTER TABLE cases ADD COLUMN sla_state TEXT NOT NULL DEFAULT '';
CREATE INDEX cases_routing_queue ON cases (workspace_id, skill_id, queued_at) WHERE routing_state = 'queued';
CREATE INDEX cases_routing_pending ON cases (created_at) WHERE routing_state = 'pending';
CREATE INDEX cases_assignee ON cases (assignee_id, status) WHERE assignee_id IS NOT NULL;
CREATE INDEX cases_sla_running ON cases (sla_warn_at) WHERE sla_state IN ('running', 'warning');

CREATE TABLE offers (
    id            TEXT PRIMARY KEY,
    workspace_id  TEXT NOT NULL REFERENCES workspaces(id),
    case_id       TEXT NOT NULL REFERENCES cases(id),
    user_id       TEXT NOT NULL REFERENCES users(id),
    skill_id      TEXT,
    kind          TEXT NOT NULL DEFAULT 'push' CHECK (kind IN ('push','pull','transfer')),
    status        TEXT NOT NULL CHECK (status IN ('pending','accepted','rejected','expired','cancelled')),
    offered_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    answered_at   BIGINT
);
-- One live offer per case, whatever node made it.
CREATE UNIQUE INDEX offers_one_pending_per_case ON offers (case_id) WHERE status = 'pending';
CREATE INDEX offers_pending_user ON offers (user_id) WHERE status = 'pending';
CREATE INDEX offers_pending_expiry ON offers (workspace_id, expires_at) WHERE status = 'pending';
CREATE INDEX offers_case ON offers (case_id, user_id);
