// Package automation runs workspace rules: "when this happens to a case,
// and these conditions hold (now, or after a delay), do these things".
//
// A rule has a trigger (case_created, status_changed with optional from/to,
// message_created with an optional direction, assignee_changed,
// before_case_closed), condition sets (AND inside a set, OR between sets; no
// sets means always), an optional delay (0 to 90 days) and actions
// (add_tag, remove_tag, set_status, set_priority, set_field, reroute,
// send_message, notify_email, call_url). Everything is validated when the
// rule is saved; a *ValidationError names the field.
//
// # Events and jobs
//
// The inbox reports what happened with Handle (or HandleTx, inside the
// transaction that made the change, so the work it triggers commits with
// it). For each enabled rule whose trigger matches, conditions that depend
// only on the event (event.*, message.*) are checked at once; if they can
// hold, a job is written to automation_jobs with run_at = event time +
// delay. Immediate rules go through a job too (run_at = now), so nothing is
// lost once the event is committed; Handle wakes the runner.
//
// RunDue claims due jobs with a lease (FOR UPDATE SKIP LOCKED on
// PostgreSQL; the attempt counter fences a claim, so a node whose lease was
// taken over cannot record an outcome), evaluates every condition again
// against the case as it is then plus the stored event, and runs the
// actions. Jobs of one case run one at a time, in order (across nodes
// claiming at the same instant, in practice rather than by lock). A job
// checks its rule when it runs: a deleted or disabled rule skips it, an
// edited rule is used as it is now.
//
// before_case_closed rules run synchronously: the caller calls BeforeClose
// before the transaction that closes the case and waits for it.
//
// # Action failures
//
// Actions run in order and independently: one failing action does not stop
// the others (a webhook endpoint being down must not keep a case from
// closing). Each action's outcome is saved as it finishes; a job with failed
// actions goes back to pending with exponential backoff and, on the next
// attempt, runs only the actions that have not succeeded — without
// evaluating the conditions again, since its own actions may have changed
// the case. After MaxAttempts attempts, or when every remaining failure is
// permanent (see Permanent; store.ErrNotFound counts as permanent; call_url
// answers 4xx other than 408 and 429 are permanent), the job ends failed
// with the reasons in last_error. Delivery is at least once: an action whose
// node crashes before its outcome is saved runs again.
//
// # Loops
//
// Actions change cases, and changes are events. An Event carries Depth: 0
// for what a person, a customer or a platform did; an Applier call made for
// a rule gets a context from which DepthFrom returns the triggering
// event's depth + 1, and the caller must put that on the events the change
// causes. Events at MaxDepth or deeper trigger nothing, so a chain of rules
// re-triggering each other stops after MaxDepth generations.
package automation
