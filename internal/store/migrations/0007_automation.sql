-- Workflow automation (internal/automation): rules, and the durable jobs
-- that run them. One file for SQLite and PostgreSQL.

-- A rule: a trigger (JSON: type plus its filters), condition sets (JSON
-- array of arrays: AND inside a set, OR between sets), a delay and actions
-- (JSON array). secret signs call_url requests; it is sealed with the
-- workspace key when the engine is given one.
CREATE TABLE automation_rules (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces(id),
    name           TEXT NOT NULL,
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    trigger        TEXT NOT NULL,
    conditions     TEXT NOT NULL DEFAULT '[]',
    delay_seconds  BIGINT NOT NULL DEFAULT 0,
    actions        TEXT NOT NULL DEFAULT '[]',
    secret         TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX automation_rules_name ON automation_rules (workspace_id, name);

-- One row per (rule, event) that passed the trigger: run at run_at, when
-- the rule's conditions are evaluated again against the case as it is then.
-- trigger is the event (JSON, with its time and loop depth). Claimed with a
-- lease; attempts doubles as the fencing token of the claim. matched
-- records that the conditions passed (a retry does not evaluate them again:
-- the job's own actions may have changed the case); action_results holds
-- each action's outcome so a retry runs only what has not succeeded.
-- rule_id has no foreign key: a deleted rule's jobs are skipped when they
-- come due and their history stays readable.
CREATE TABLE automation_jobs (
    id              TEXT PRIMARY KEY,
    workspace_id    TEXT NOT NULL REFERENCES workspaces(id),
    rule_id         TEXT NOT NULL,
    case_id         TEXT NOT NULL REFERENCES cases(id),
    trigger         TEXT NOT NULL,
    run_at          BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending','running','done','failed','skipped')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    lease_until     BIGINT NOT NULL DEFAULT 0,
    matched         BOOLEAN NOT NULL DEFAULT FALSE,
    action_results  TEXT NOT NULL DEFAULT '[]',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
-- Due work: pending jobs by time, and running jobs whose lease ran out (a
-- crashed node's work).
CREATE INDEX automation_jobs_due ON automation_jobs (run_at) WHERE status = 'pending';
CREATE INDEX automation_jobs_lease ON automation_jobs (lease_until) WHERE status = 'running';
-- A case's jobs: one runs at a time per case; history per case.
CREATE INDEX automation_jobs_case ON automation_jobs (workspace_id, case_id, status);
-- Finished jobs are purged after a retention period.
CREATE INDEX automation_jobs_finished ON automation_jobs (updated_at) WHERE status IN ('done','skipped','failed');
