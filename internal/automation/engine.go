package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/netguard"
	"github.com/parleyhq/parley/internal/store"
)

// MaxDepth bounds chains of rules triggering rules: events at this depth
// or deeper trigger nothing (see the package documentation).
const MaxDepth = 5

// Applier makes the changes rules ask for. The inbox implements it with
// its own transactions, audit and live events; the context tells which rule
// acts (CauseFrom) and the depth its events must carry (DepthFrom). Return
// an error wrapped with Permanent (an illegal status transition, a closed
// case) when trying again cannot help; store.ErrNotFound counts as
// permanent too. Changing a case to what it already is should succeed.
//
// SetStatus to "closed" must close the way a person's close does: call
// BeforeClose first (with the same ctx, outside the closing transaction).
type Applier interface {
	AddTags(ctx context.Context, workspaceID, caseID string, tags []string) error
	RemoveTags(ctx context.Context, workspaceID, caseID string, tags []string) error
	SetStatus(ctx context.Context, workspaceID, caseID, status string) error
	SetPriority(ctx context.Context, workspaceID, caseID string, priority int) error
	// SetField sets a custom field; value nil removes it.
	SetField(ctx context.Context, workspaceID, caseID, name string, value any) error
	Reroute(ctx context.Context, workspaceID, caseID, skillID string) error
	// SendMessage sends on the case's thread: text, or canonical rich
	// content (already validated when the rule was saved) when not nil.
	SendMessage(ctx context.Context, workspaceID, caseID, text string, content json.RawMessage) error
}

// Notifier sends notification emails.
type Notifier interface {
	Notify(ctx context.Context, to []string, subject, body string) error
}

// Event is something that happened to a case.
type Event struct {
	Type        string `json:"type"`
	WorkspaceID string `json:"workspace_id"`
	CaseID      string `json:"case_id"`
	// MessageID and Direction (inbound, outbound): message_created.
	MessageID string `json:"message_id,omitempty"`
	Direction string `json:"direction,omitempty"`
	// FromStatus and ToStatus: status_changed (and before_case_closed).
	FromStatus string `json:"from_status,omitempty"`
	ToStatus   string `json:"to_status,omitempty"`
	// At is when it happened (zero: now). Delays count from it, and
	// case.inbound_since_trigger looks for customer messages after it.
	At time.Time `json:"at"`
	// Depth is 0 for what people, customers and platforms do, and
	// DepthFrom(ctx) for changes an Applier makes for a rule.
	Depth int `json:"depth"`
}

// Cause tells an Applier which rule is acting.
type Cause struct {
	RuleID   string
	RuleName string
	JobID    string
	// Depth is what events caused by this change must carry.
	Depth int
}

type causeKey struct{}

func withCause(ctx context.Context, c Cause) context.Context {
	return context.WithValue(ctx, causeKey{}, c)
}

// CauseFrom returns the rule acting in ctx, if any (for audit entries:
// "closed by rule X").
func CauseFrom(ctx context.Context) (Cause, bool) {
	c, ok := ctx.Value(causeKey{}).(Cause)
	return c, ok
}

// DepthFrom is the depth to give events caused by a change made with ctx:
// 0 unless a rule is acting.
func DepthFrom(ctx context.Context) int {
	c, _ := CauseFrom(ctx)
	return c.Depth
}

// Options configure an Engine. DB is required.
type Options struct {
	DB       *store.DB
	Now      func() time.Time
	Applier  Applier
	Notifier Notifier
	// HTTP makes call_url requests; default netguard.Client(10 s, false),
	// which refuses private and loopback addresses.
	HTTP *http.Client
	// Secrets seals call_url secrets at rest (nil: stored as given).
	Secrets SecretBox
	Logger  *slog.Logger
	// Poll is how often Run looks for due jobs without a wake-up; default 1 s.
	Poll time.Duration
	// Lease is how long a claimed job is reserved; default 2 min. It is
	// renewed after each action.
	Lease time.Duration
	// ActionTimeout bounds one action; default 30 s, at most Lease/4.
	ActionTimeout time.Duration
	// MaxAttempts before a job with failing actions ends failed; default 5.
	MaxAttempts int
	// RetryBase is the first retry delay, doubled each attempt up to
	// RetryMax; defaults 30 s and 1 h.
	RetryBase, RetryMax time.Duration
	// Workers is how many jobs RunDue runs at once; default 4.
	Workers int
	// RuleCacheTTL bounds how long another node's rule change goes unseen;
	// default 10 s.
	RuleCacheTTL time.Duration
	// Retention is how long finished jobs are kept; default 30 days.
	Retention time.Duration
}

// Engine evaluates rules and runs their jobs.
type Engine struct {
	db            *store.DB
	now           func() time.Time
	applier       Applier
	notifier      Notifier
	http          *http.Client
	secrets       SecretBox
	log           *slog.Logger
	poll          time.Duration
	lease         time.Duration
	actionTimeout time.Duration
	maxAttempts   int
	retryBase     time.Duration
	retryMax      time.Duration
	workers       int
	retention     time.Duration

	cache ruleCache
	wake  chan struct{}
}

// callURLTimeout bounds a call_url request.
const callURLTimeout = 10 * time.Second

// New makes an engine; call Run to work through jobs in the background.
func New(o Options) *Engine {
	if o.DB == nil {
		panic("automation: Options.DB is required")
	}
	e := &Engine{db: o.DB, now: o.Now, applier: o.Applier, notifier: o.Notifier, http: o.HTTP, secrets: o.Secrets, log: o.Logger,
		poll: o.Poll, lease: o.Lease, actionTimeout: o.ActionTimeout, maxAttempts: o.MaxAttempts, retryBase: o.RetryBase, retryMax: o.RetryMax,
		workers: o.Workers, retention: o.Retention, wake: make(chan struct{}, 1)}
	if e.now == nil {
		e.now = time.Now
	}
	if e.http == nil {
		e.http = netguard.Client(callURLTimeout, false)
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.poll <= 0 {
		e.poll = time.Second
	}
	if e.lease <= 0 {
		e.lease = 2 * time.Minute
	}
	if e.actionTimeout <= 0 || e.actionTimeout > e.lease/4 {
		e.actionTimeout = min(30*time.Second, e.lease/4)
	}
	if e.maxAttempts <= 0 {
		e.maxAttempts = 5
	}
	if e.retryBase <= 0 {
		e.retryBase = 30 * time.Second
	}
	if e.retryMax <= 0 {
		e.retryMax = time.Hour
	}
	if e.workers <= 0 {
		e.workers = 4
	}
	if e.retention <= 0 {
		e.retention = 30 * 24 * time.Hour
	}
	e.cache = ruleCache{ttl: o.RuleCacheTTL, byWorkspace: map[string]cachedRules{}}
	if e.cache.ttl <= 0 {
		e.cache.ttl = 10 * time.Second
	}
	return e
}

// Wake makes Run look for due jobs now.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// normaliseEvent checks what the caller reports and fills in defaults.
func (e *Engine) normaliseEvent(ev Event) (Event, error) {
	switch ev.Type {
	case TriggerCaseCreated, TriggerAssigneeChanged:
	case TriggerStatusChanged:
		if ev.ToStatus == "" {
			return ev, errors.New("automation: a status_changed event needs ToStatus")
		}
	case TriggerMessageCreated:
		if ev.Direction != "inbound" && ev.Direction != "outbound" {
			return ev, errors.New("automation: a message_created event needs Direction inbound or outbound")
		}
	case TriggerBeforeCaseClosed:
		return ev, errors.New("automation: before_case_closed rules run through BeforeClose")
	default:
		return ev, fmt.Errorf("automation: unknown event type %q", ev.Type)
	}
	if ev.WorkspaceID == "" || ev.CaseID == "" {
		return ev, errors.New("automation: an event needs WorkspaceID and CaseID")
	}
	if ev.At.IsZero() {
		ev.At = e.now()
	}
	// At the database's precision, so "after the event" means the same in
	// Go and in SQL.
	ev.At = store.Time(store.Micros(ev.At))
	ev.Depth = max(ev.Depth, 0)
	return ev, nil
}

// Handle reports an event after the change that caused it has committed:
// the jobs of the rules it triggers are written in a transaction of their
// own. Prefer HandleTx, which commits them with the change.
func (e *Engine) Handle(ctx context.Context, ev Event) error {
	ev, err := e.normaliseEvent(ev)
	if err != nil {
		return err
	}
	jobs, err := e.plan(ctx, e.db, ev)
	if err != nil || len(jobs) == 0 {
		return err
	}
	return e.db.InTx(ctx, func(tx *store.Tx) error { return e.enqueue(ctx, tx, jobs) })
}

// HandleTx reports an event inside the transaction that makes the change,
// so the work it triggers commits (or rolls back) with it. It reads no
// table but the rules (cached) and, for rules on message text, the event's
// message.
func (e *Engine) HandleTx(ctx context.Context, tx *store.Tx, ev Event) error {
	ev, err := e.normaliseEvent(ev)
	if err != nil {
		return err
	}
	jobs, err := e.plan(ctx, tx, ev)
	if err != nil || len(jobs) == 0 {
		return err
	}
	return e.enqueue(ctx, tx, jobs)
}

// plannedJob is a job about to be written.
type plannedJob struct {
	rule  *compiledRule
	event Event
	runAt time.Time
}

// plan finds the rules an event triggers: enabled, trigger matching, and
// conditions that can still hold given what the event alone tells (the
// case is judged when the job runs).
func (e *Engine) plan(ctx context.Context, q store.Querier, ev Event) ([]plannedJob, error) {
	if ev.Depth >= MaxDepth {
		e.log.Warn("automation: loop guard: event too deep to trigger rules", "workspace", ev.WorkspaceID, "case", ev.CaseID, "event", ev.Type, "depth", ev.Depth)
		return nil, nil
	}
	rules, err := e.rulesFor(ctx, ev.WorkspaceID)
	if err != nil {
		return nil, err
	}
	var candidates []*compiledRule
	for _, r := range rules {
		if r.Enabled && r.matchesEvent(ev) {
			candidates = append(candidates, r)
		}
	}
	if len(candidates) == 0 {
		return nil, nil
	}
	f := &facts{event: ev}
	if ev.MessageID != "" && slices.ContainsFunc(candidates, (*compiledRule).needsMessageText) {
		if err := loadMessage(ctx, q, f); err != nil {
			return nil, err
		}
	}
	var out []plannedJob
	for _, r := range candidates {
		if r.match(f) {
			out = append(out, plannedJob{rule: r, event: ev, runAt: ev.At.Add(r.delay())})
		}
	}
	return out, nil
}

func (e *Engine) enqueue(ctx context.Context, tx *store.Tx, jobs []plannedJob) error {
	now := store.Micros(e.now())
	for _, j := range jobs {
		trigger, err := json.Marshal(j.event)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO automation_jobs (id, workspace_id, rule_id, case_id, trigger, run_at, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`, store.NewID(), j.event.WorkspaceID, j.rule.ID, j.event.CaseID, string(trigger),
			store.Micros(j.runAt), now, now); err != nil {
			return fmt.Errorf("automation: enqueue: %w", err)
		}
	}
	tx.AfterCommit(e.Wake)
	return nil
}

// BeforeClose runs the workspace's before_case_closed rules for a case,
// synchronously. Call it before the transaction that closes the case —
// never inside it: the actions write through the Applier, in transactions
// of their own. A nil error means every matching rule ran; actions that
// failed are retried in the background like any job's (so the caller may
// close the case). An error means the rules could not be evaluated.
func (e *Engine) BeforeClose(ctx context.Context, workspaceID, caseID string) error {
	depth := DepthFrom(ctx)
	if depth >= MaxDepth {
		e.log.Warn("automation: loop guard: close too deep to trigger rules", "workspace", workspaceID, "case", caseID, "depth", depth)
		return nil
	}
	rules, err := e.rulesFor(ctx, workspaceID)
	if err != nil {
		return err
	}
	var candidates []*compiledRule
	for _, r := range rules {
		if r.Enabled && r.Trigger.Type == TriggerBeforeCaseClosed {
			candidates = append(candidates, r)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	now := e.now()
	ev := Event{Type: TriggerBeforeCaseClosed, WorkspaceID: workspaceID, CaseID: caseID, ToStatus: "closed", At: store.Time(store.Micros(now)), Depth: depth}
	f, err := e.loadFacts(ctx, workspaceID, caseID, ev)
	if err != nil {
		return fmt.Errorf("automation: before close: %w", err)
	}
	ev.FromStatus = f.kase.Status
	f.event = ev
	type started struct {
		job  *job
		rule *compiledRule
	}
	var run []started
	for _, r := range candidates {
		if r.match(f) {
			run = append(run, started{job: &job{id: store.NewID(), workspaceID: workspaceID, ruleID: r.ID, caseID: caseID, event: ev, attempts: 1, matched: true,
				results: make([]ActionResult, len(r.Actions))}, rule: r})
		}
	}
	if len(run) == 0 {
		return nil
	}
	// Each job is written as already claimed by this call, just before it
	// runs (so its lease starts when it does): its outcome is recorded like
	// any job's, failed actions are retried in the background, and if this
	// node dies mid-way the lease runs out and another node finishes it.
	trigger, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	for _, s := range run {
		results, _ := json.Marshal(s.job.results)
		now := e.now()
		if _, err := e.db.ExecContext(ctx, `INSERT INTO automation_jobs (id, workspace_id, rule_id, case_id, trigger, run_at, status, attempts, lease_until, matched, action_results, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, 'running', 1, ?, ?, ?, ?, ?)`, s.job.id, workspaceID, s.rule.ID, caseID, string(trigger), store.Micros(now),
			store.Micros(now.Add(e.lease)), true, string(results), store.Micros(now), store.Micros(now)); err != nil {
			return fmt.Errorf("automation: before close: %w", err)
		}
		e.execute(ctx, s.job, s.rule)
	}
	return nil
}

// Run works through due jobs until ctx ends: at once when woken (Handle
// wakes it after commit), otherwise every Poll. Finished jobs older than
// the retention are purged hourly.
func (e *Engine) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastPurge time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-e.wake:
		}
		if _, err := e.RunDue(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("automation: running due jobs", "err", err)
		}
		if now := e.now(); now.Sub(lastPurge) >= time.Hour || now.Before(lastPurge) {
			lastPurge = now
			if _, err := e.PurgeFinished(ctx, now.Add(-e.retention)); err != nil && ctx.Err() == nil {
				e.log.Error("automation: purging finished jobs", "err", err)
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(e.poll)
	}
}

// maxRoundsPerRunDue bounds one RunDue call, so a steady stream of new
// jobs cannot keep it from returning; Run comes back at once.
const maxRoundsPerRunDue = 50

// RunDue claims due jobs and runs them — Workers at a time, one job per
// case at a time — until none is due. It returns how many it ran. Several
// nodes may call it at once on one database: each job is claimed by one.
func (e *Engine) RunDue(ctx context.Context) (int, error) {
	total := 0
	for range maxRoundsPerRunDue {
		// No more than can start at once: a claimed job waiting for a
		// worker would let its lease run out and another node run it too.
		batch, err := e.claim(ctx, e.workers)
		if err != nil {
			return total, fmt.Errorf("automation: claim: %w", err)
		}
		if len(batch) == 0 {
			return total, nil
		}
		var wg sync.WaitGroup
		for _, j := range batch {
			wg.Go(func() { e.execute(ctx, j, nil) })
		}
		wg.Wait()
		total += len(batch)
		if err := ctx.Err(); err != nil {
			return total, err
		}
	}
	e.Wake()
	return total, nil
}

// job is a claimed automation_jobs row.
type job struct {
	id, workspaceID, ruleID, caseID string
	event                           Event
	// attempts after the claim: the fencing token of this claim.
	attempts int
	matched  bool
	results  []ActionResult
}

// claim leases up to n due jobs: pending ones whose time has come, and
// running ones whose lease ran out (their node died). Only the first due
// job of a case is taken, and none of a case with a job running, so a
// case's jobs run one at a time and in order. (On PostgreSQL two nodes
// claiming at the same instant can each take a job of one case: the order
// is kept in practice, not enforced. A job itself is never taken twice.)
func (e *Engine) claim(ctx context.Context, n int) ([]*job, error) {
	var out []*job
	err := e.db.InTx(ctx, func(tx *store.Tx) error {
		out = out[:0]
		now := e.now()
		us := store.Micros(now)
		lock := ""
		if tx.Dialect() == store.Postgres {
			lock = ` FOR UPDATE OF j SKIP LOCKED`
		}
		const columns = `SELECT j.id, j.workspace_id, j.rule_id, j.case_id, j.trigger, j.attempts, j.matched, j.action_results FROM automation_jobs j `
		const caseIdle = ` AND NOT EXISTS (SELECT 1 FROM automation_jobs r WHERE r.workspace_id = j.workspace_id AND r.case_id = j.case_id
			AND r.status = 'running' AND r.lease_until >= ?)`
		var candidates []*job
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{columns + `WHERE j.status = 'running' AND j.lease_until < ? ORDER BY j.lease_until, j.id LIMIT ?` + lock, []any{us, n}},
			{columns + `WHERE j.status = 'pending' AND j.run_at <= ?` + caseIdle + ` ORDER BY j.run_at, j.id LIMIT ?` + lock, []any{us, us, n}},
		} {
			found, err := scanJobs(ctx, tx, q.sql, q.args...)
			if err != nil {
				return err
			}
			candidates = append(candidates, found...)
		}
		leaseUntil := store.Micros(now.Add(e.lease))
		busy := map[[2]string]bool{}
		for _, j := range candidates {
			key := [2]string{j.workspaceID, j.caseID}
			if busy[key] || len(out) >= n {
				continue
			}
			res, err := tx.ExecContext(ctx, `UPDATE automation_jobs SET status = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ?
				WHERE id = ? AND (status = 'pending' OR (status = 'running' AND lease_until < ?))`, leaseUntil, us, j.id, us)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k == 1 {
				j.attempts++
				busy[key] = true
				out = append(out, j)
			}
		}
		return nil
	})
	return out, err
}

func scanJobs(ctx context.Context, q store.Querier, query string, args ...any) ([]*job, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*job
	for rows.Next() {
		var (
			jb               job
			trigger, results string
		)
		if err := rows.Scan(&jb.id, &jb.workspaceID, &jb.ruleID, &jb.caseID, &trigger, &jb.attempts, &jb.matched, &results); err != nil {
			return nil, err
		}
		// An unreadable event or result list is judged in execute, where
		// the outcome is recorded; here it would block the whole claim.
		_ = json.Unmarshal([]byte(trigger), &jb.event)
		_ = json.Unmarshal([]byte(results), &jb.results)
		out = append(out, &jb)
	}
	return out, rows.Err()
}

// Job statuses (automation_jobs.status).
const (
	JobPending = "pending"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
	JobSkipped = "skipped"
)

// Action outcomes within a job.
const (
	ResultOK     = "ok"     // done; not run again
	ResultRetry  = "retry"  // failed, will be tried again
	ResultFailed = "failed" // failed for good
)

// ActionResult is one action's outcome in a job ("" when not run yet).
type ActionResult struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// execute runs one claimed job and records its outcome. rule is nil when
// the job was claimed from the table: the rule is then read as it is now.
func (e *Engine) execute(ctx context.Context, j *job, rule *compiledRule) {
	if rule == nil {
		r, err := e.loadRule(ctx, e.db, j.workspaceID, j.ruleID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			e.finish(j, JobSkipped, "the rule was deleted")
			return
		case err != nil && ctx.Err() != nil:
			return // shutting down: the lease runs out and the job is claimed again
		case err != nil:
			e.retryOrFail(j, fmt.Sprintf("cannot load the rule: %v", err))
			return
		}
		rule = r
	}
	switch {
	case !rule.Enabled:
		e.finish(j, JobSkipped, "the rule is disabled")
		return
	case j.event.Type == "" || j.event.CaseID != j.caseID:
		e.finish(j, JobFailed, "the job's event is unreadable")
		return
	case !j.matched && !rule.matchesEvent(j.event):
		e.finish(j, JobSkipped, "the rule's trigger was changed after the job was scheduled")
		return
	case j.event.Depth >= MaxDepth:
		e.finish(j, JobSkipped, "loop guard: event too deep")
		return
	}
	f, err := e.loadFacts(ctx, j.workspaceID, j.caseID, j.event)
	switch {
	case errors.Is(err, store.ErrNotFound):
		e.finish(j, JobSkipped, "the case no longer exists")
		return
	case err != nil && ctx.Err() != nil:
		return
	case err != nil:
		e.retryOrFail(j, fmt.Sprintf("cannot read the case: %v", err))
		return
	}
	if !j.matched {
		if !rule.match(f) {
			e.finish(j, JobSkipped, "conditions not met when the job ran")
			return
		}
		j.matched = true
	}
	if len(j.results) != len(rule.Actions) {
		if slices.ContainsFunc(j.results, func(r ActionResult) bool { return r.Status != "" }) {
			e.finish(j, JobFailed, "the rule's actions were changed while this job was being retried")
			return
		}
		j.results = make([]ActionResult, len(rule.Actions))
	}
	actx := withCause(ctx, Cause{RuleID: rule.ID, RuleName: rule.Name, JobID: j.id, Depth: j.event.Depth + 1})
	for i, a := range rule.Actions {
		if s := j.results[i].Status; s == ResultOK || s == ResultFailed {
			continue
		}
		err := e.runAction(actx, j, rule, a, f)
		if err != nil && ctx.Err() != nil {
			return // shutting down: what succeeded is saved; the lease runs out and the rest is retried
		}
		switch {
		case err == nil:
			j.results[i] = ActionResult{Status: ResultOK}
		case isPermanent(err):
			j.results[i] = ActionResult{Status: ResultFailed, Error: truncate(err.Error(), 500)}
		default:
			j.results[i] = ActionResult{Status: ResultRetry, Error: truncate(err.Error(), 500)}
		}
		if err != nil {
			e.log.Warn("automation: action failed", "job", j.id, "rule", rule.ID, "case", j.caseID, "action", a.Type,
				"attempt", j.attempts, "permanent", isPermanent(err), "err", err)
		}
		if i < len(rule.Actions)-1 && !e.saveProgress(j) {
			return
		}
	}
	var retry, failed []string
	for i, r := range j.results {
		switch r.Status {
		case ResultRetry:
			retry = append(retry, fmt.Sprintf("%s: %s", rule.Actions[i].Type, r.Error))
		case ResultFailed:
			failed = append(failed, fmt.Sprintf("%s: %s", rule.Actions[i].Type, r.Error))
		}
	}
	switch {
	case len(retry) > 0:
		e.retryOrFail(j, joinReasons(append(failed, retry...)))
	case len(failed) > 0:
		e.finish(j, JobFailed, joinReasons(failed))
	default:
		e.finish(j, JobDone, "")
	}
}

func joinReasons(reasons []string) string { return truncate(strings.Join(reasons, "; "), 2000) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n-- // not inside a UTF-8 sequence
	}
	return s[:n]
}

// outcomeTimeout bounds recording an outcome. Outcomes are recorded with a
// fresh context: an action that happened must be recorded even if the
// caller's context ends now.
const outcomeTimeout = 30 * time.Second

// fenced runs an update of this claim's row; false when the claim was
// lost (the lease ran out and another node took the job over).
func (e *Engine) fenced(j *job, set string, args ...any) bool {
	ctx, cancel := context.WithTimeout(context.Background(), outcomeTimeout)
	defer cancel()
	results, _ := json.Marshal(j.results)
	args = append(args, j.matched, string(results), store.Micros(e.now()), j.id, j.attempts)
	res, err := e.db.ExecContext(ctx, `UPDATE automation_jobs SET `+set+`, matched = ?, action_results = ?, updated_at = ?
		WHERE id = ? AND status = 'running' AND attempts = ?`, args...)
	if err != nil {
		e.log.Error("automation: recording a job's outcome", "job", j.id, "err", err)
		return false
	}
	if n, _ := res.RowsAffected(); n == 0 {
		e.log.Warn("automation: lost the lease of a job; another node finishes it", "job", j.id)
		return false
	}
	return true
}

// saveProgress records the actions done so far and renews the lease.
func (e *Engine) saveProgress(j *job) bool {
	return e.fenced(j, `lease_until = ?`, store.Micros(e.now().Add(e.lease)))
}

func (e *Engine) finish(j *job, status, reason string) {
	switch status {
	case JobFailed:
		e.log.Warn("automation: job failed", "job", j.id, "rule", j.ruleID, "case", j.caseID, "reason", reason)
	case JobSkipped: // routine: most delayed jobs find their case has moved on
		e.log.Debug("automation: job skipped", "job", j.id, "rule", j.ruleID, "case", j.caseID, "reason", reason)
	}
	e.fenced(j, `status = ?, lease_until = 0, last_error = ?`, status, reason)
}

// retryOrFail puts the job back for a later attempt, or ends it failed
// when it has had its attempts.
func (e *Engine) retryOrFail(j *job, reason string) {
	if j.attempts >= e.maxAttempts {
		e.finish(j, JobFailed, truncate(fmt.Sprintf("gave up after %d attempts: %s", j.attempts, reason), 2000))
		return
	}
	runAt := e.now().Add(e.backoff(j.id, j.attempts))
	e.fenced(j, `status = 'pending', run_at = ?, lease_until = 0, last_error = ?`, store.Micros(runAt), reason)
}

// backoff doubles from RetryBase up to RetryMax with "equal jitter" (half
// fixed, half spread) drawn from the job id and attempt: retries of many
// jobs spread out, yet the delay is reproducible.
func (e *Engine) backoff(jobID string, attempt int) time.Duration {
	d := e.retryBase
	for i := 1; i < attempt && d < e.retryMax; i++ {
		d *= 2
	}
	d = min(d, e.retryMax)
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", jobID, attempt)
	return d/2 + time.Duration(h.Sum64()%uint64(d/2+1))
}

// PurgeFinished deletes jobs that finished (done, skipped, failed) before
// a time, in bounded batches.
func (e *Engine) PurgeFinished(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := e.db.ExecContext(ctx, `DELETE FROM automation_jobs WHERE id IN (SELECT id FROM automation_jobs
			WHERE status IN ('done','skipped','failed') AND updated_at < ? LIMIT 1000)`, store.Micros(before))
		if err != nil {
			return total, err
		}
		n, _ := res.RowsAffected()
		total += n
		if n < 1000 {
			return total, nil
		}
	}
}

// Job is an automation job as the API shows it.
type Job struct {
	ID        string         `json:"id"`
	RuleID    string         `json:"rule_id"`
	CaseID    string         `json:"case_id"`
	Event     Event          `json:"event"`
	RunAt     time.Time      `json:"run_at"`
	Status    string         `json:"status"`
	Attempts  int            `json:"attempts"`
	LastError string         `json:"last_error,omitempty"`
	Results   []ActionResult `json:"results"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// ListJobs lists a case's jobs, oldest first (the case's automation history).
func (e *Engine) ListJobs(ctx context.Context, workspaceID, caseID string) ([]Job, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT id, rule_id, case_id, trigger, run_at, status, attempts, last_error, action_results, created_at, updated_at
		FROM automation_jobs WHERE workspace_id = ? AND case_id = ? ORDER BY created_at, id`, workspaceID, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Job{}
	for rows.Next() {
		var (
			jb                      Job
			trigger, results        string
			runAt, created, updated int64
		)
		if err := rows.Scan(&jb.ID, &jb.RuleID, &jb.CaseID, &trigger, &runAt, &jb.Status, &jb.Attempts, &jb.LastError, &results, &created, &updated); err != nil {
			return nil, err
		}
		_ = json.Unmarshal([]byte(trigger), &jb.Event)
		_ = json.Unmarshal([]byte(results), &jb.Results)
		jb.RunAt, jb.CreatedAt, jb.UpdatedAt = store.Time(runAt), store.Time(created), store.Time(updated)
		out = append(out, jb)
	}
	return out, rows.Err()
}

// PendingJobsByRule counts each rule's jobs still waiting to run.
func (e *Engine) PendingJobsByRule(ctx context.Context, workspaceID string) (map[string]int, error) {
	rows, err := e.db.QueryContext(ctx, `SELECT rule_id, COUNT(*) FROM automation_jobs WHERE workspace_id = ? AND status = 'pending' GROUP BY rule_id`, workspaceID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}
