package automation

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/netguard"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// closeResolvedRule is the reference rule: 48 h after a case is resolved,
// close it — unless the customer wrote in the meantime.
func closeResolvedRule() RuleInput {
	return RuleInput{
		Name:         "Close resolved cases after 48 h",
		Trigger:      Trigger{Type: TriggerStatusChanged, To: "resolved"},
		DelaySeconds: int64(48 * time.Hour / time.Second),
		Conditions: [][]Condition{{
			cond("case.status", OpEq, "resolved"),
			cond("case.inbound_since_trigger", OpEq, false),
		}},
		Actions: []Action{{Type: ActionSetStatus, Status: "closed"}},
	}
}

func TestReferenceRuleClosesResolvedCaseAfter48Hours(t *testing.T) {
	t.Logf("database: %s", storetest.Describe())
	f := newFixture(t)
	f.rule(closeResolvedRule())
	t0 := f.clk.Now()

	quiet := f.newCase()
	f.setStatus(quiet, "open")
	f.setStatus(quiet, "resolved")
	busy := f.newCase()
	f.setStatus(busy, "open")
	f.setStatus(busy, "resolved")

	// 10 h later the customer writes again: the case reopens, and is
	// resolved once more at 20 h.
	f.clk.Advance(10 * time.Hour)
	f.inbound(busy, "one more question")
	f.setStatus(busy, "open")
	f.clk.Advance(10 * time.Hour)
	secondResolution := f.clk.Now()
	f.setStatus(busy, "resolved")

	f.clk.Advance(t0.Add(48*time.Hour - time.Minute).Sub(f.clk.Now()))
	if n := f.runDue(); n != 0 {
		t.Fatalf("at 47h59m: ran %d jobs, want none", n)
	}
	if s := f.status(quiet); s != "resolved" {
		t.Fatalf("at 47h59m the quiet case is %s, want resolved", s)
	}

	f.clk.Advance(time.Minute) // 48 h after the first resolutions
	if n := f.runDue(); n != 2 {
		t.Fatalf("at 48h: ran %d jobs, want 2 (one per case)", n)
	}
	if s := f.status(quiet); s != "closed" {
		t.Fatalf("at 48h the quiet case is %s, want closed", s)
	}
	if s := f.status(busy); s != "resolved" {
		t.Fatalf("at 48h the case the customer wrote to is %s, want still resolved", s)
	}
	jobs := f.jobs(busy)
	if len(jobs) != 2 || jobs[0].Status != JobSkipped || !strings.Contains(jobs[0].LastError, "conditions") || jobs[1].Status != JobPending {
		t.Fatalf("busy case jobs: %+v", jobs)
	}
	if !jobs[1].RunAt.Equal(secondResolution.Add(48 * time.Hour)) {
		t.Fatalf("second job runs at %s, want %s", jobs[1].RunAt, secondResolution.Add(48*time.Hour))
	}

	f.clk.Advance(secondResolution.Add(48*time.Hour - time.Minute).Sub(f.clk.Now()))
	if n := f.runDue(); n != 0 {
		t.Fatalf("47h59m after the second resolution: ran %d jobs, want none", n)
	}
	if s := f.status(busy); s != "resolved" {
		t.Fatalf("busy case closed early: %s", s)
	}
	f.clk.Advance(time.Minute)
	if n := f.runDue(); n != 1 {
		t.Fatalf("48h after the second resolution: ran %d jobs, want 1", n)
	}
	if s := f.status(busy); s != "closed" {
		t.Fatalf("48h after the second resolution the case is %s, want closed", s)
	}

	closes := f.applier.callsOf("SetStatus")
	if len(closes) != 2 || closes[0].CaseID != quiet || !closes[0].At.Equal(t0.Add(48*time.Hour)) ||
		closes[1].CaseID != busy || !closes[1].At.Equal(secondResolution.Add(48*time.Hour)) {
		t.Fatalf("SetStatus calls: %+v", closes)
	}
	if c := closes[0].Cause; c.Depth != 1 || c.RuleName != "Close resolved cases after 48 h" || c.JobID == "" {
		t.Fatalf("cause given to the Applier: %+v", c)
	}
	if got := f.jobStatuses(quiet); !sameCounts(got, map[string]int{JobDone: 1}) {
		t.Fatalf("quiet case jobs: %v", got)
	}
}

func TestImmediateRuleOnMessageText(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{
		Name:       "Tag refunds",
		Trigger:    Trigger{Type: TriggerMessageCreated, Direction: "inbound"},
		Conditions: [][]Condition{{cond("message.text", OpContains, "REFUND")}, {cond("message.text", OpMatches, `(?i)money\s+back`)}},
		Actions:    []Action{{Type: ActionAddTag, Tags: []string{"refund"}}, {Type: ActionSetPriority, Priority: intp(80)}},
	})
	a, b, c := f.newCase(), f.newCase(), f.newCase()
	f.inbound(a, "I want a refund please")
	f.inbound(b, "hello there")
	f.inbound(c, "can I get my Money  back?")
	// The event's own conditions decide at once: no job for b.
	if got := len(f.jobs(b)); got != 0 {
		t.Fatalf("a message that cannot match made %d jobs", got)
	}
	if n := f.runDue(); n != 2 {
		t.Fatalf("ran %d jobs, want 2", n)
	}
	for _, id := range []string{a, c} {
		if tags := f.tags(id); len(tags) != 1 || tags[0] != "refund" {
			t.Fatalf("%s tags: %v", id, tags)
		}
	}
	if tags := f.tags(b); len(tags) != 0 {
		t.Fatalf("b tags: %v", tags)
	}
	if got := f.applier.callsOf("SetPriority"); len(got) != 2 || got[0].Args != "80" {
		t.Fatalf("SetPriority calls: %+v", got)
	}
}

func TestConditionsAreEvaluatedAgainWhenTheJobRuns(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{
		Name:         "Chase unassigned VIPs",
		Trigger:      Trigger{Type: TriggerCaseCreated},
		DelaySeconds: 3600,
		Conditions:   [][]Condition{{cond("case.tags", OpContains, "VIP"), cond("case.assignee_id", OpNotExists, nil)}},
		Actions:      []Action{{Type: ActionSetPriority, Priority: intp(90)}},
	})
	// At creation neither case has the tag: the jobs are written anyway,
	// since the case is judged when the job runs.
	vip, other := f.newCase(), f.newCase()
	f.exec(`INSERT INTO case_tags (workspace_id, case_id, tag) VALUES (?, ?, 'vip')`, f.ws, vip)
	f.clk.Advance(time.Hour)
	if n := f.runDue(); n != 2 {
		t.Fatalf("ran %d jobs, want 2", n)
	}
	if got := f.applier.callsOf("SetPriority"); len(got) != 1 || got[0].CaseID != vip {
		t.Fatalf("SetPriority calls: %+v", got)
	}
	if got := f.jobStatuses(other); !sameCounts(got, map[string]int{JobSkipped: 1}) {
		t.Fatalf("other case jobs: %v", got)
	}
}

func TestLoopGuardStopsRulesTriggeringEachOther(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{Name: "open → pending", Trigger: Trigger{Type: TriggerStatusChanged, To: "open"}, Actions: []Action{{Type: ActionSetStatus, Status: "pending"}}})
	f.rule(RuleInput{Name: "pending → open", Trigger: Trigger{Type: TriggerStatusChanged, To: "pending"}, Actions: []Action{{Type: ActionSetStatus, Status: "open"}}})
	id := f.newCase()
	f.setStatus(id, "open")
	total := 0
	for range 20 {
		n := f.runDue()
		if n == 0 {
			break
		}
		total += n
	}
	calls := f.applier.callsOf("SetStatus")
	if len(calls) != MaxDepth || total != MaxDepth {
		t.Fatalf("the loop ran %d actions in %d jobs, want %d", len(calls), total, MaxDepth)
	}
	for i, c := range calls {
		if c.Cause.Depth != i+1 {
			t.Fatalf("action %d ran with depth %d, want %d", i, c.Cause.Depth, i+1)
		}
	}
	if got := f.jobStatuses(id); !sameCounts(got, map[string]int{JobDone: MaxDepth}) {
		t.Fatalf("jobs: %v", got)
	}
}

func TestCallURLIsSignedAndRetried(t *testing.T) {
	var (
		mu       sync.Mutex
		requests []*http.Request
		bodies   [][]byte
		answers  = []int{http.StatusServiceUnavailable, http.StatusOK}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		requests = append(requests, r)
		bodies = append(bodies, b)
		code := answers[0]
		if len(answers) > 1 {
			answers = answers[1:]
		}
		mu.Unlock()
		w.WriteHeader(code)
	}))
	defer srv.Close()
	// The caller's client: netguard with private addresses allowed, as the
	// sandbox and tests run it.
	f := newFixture(t, func(o *Options) { o.HTTP = netguard.Client(10*time.Second, true) })
	secret := "s3cret-shared-with-the-receiver"
	r := f.rule(RuleInput{
		Name:    "Tell the CRM",
		Trigger: Trigger{Type: TriggerStatusChanged, To: "escalated"},
		Actions: []Action{{Type: ActionCallURL, URL: srv.URL + "/hook"}},
		Secret:  &secret,
	})
	if !r.HasSecret {
		t.Fatal("HasSecret is false")
	}
	id := f.newCase()
	f.exec(`UPDATE cases SET custom_fields = '{"plan":"gold"}' WHERE id = ?`, id)
	f.setStatus(id, "escalated")
	if n := f.runDue(); n != 1 {
		t.Fatalf("ran %d jobs", n)
	}
	jobs := f.jobs(id)
	if len(jobs) != 1 || jobs[0].Status != JobPending || !strings.Contains(jobs[0].LastError, "503") || jobs[0].Attempts != 1 {
		t.Fatalf("after a 503: %+v", jobs)
	}
	// Retried after the backoff: between half and all of RetryBase (30 s).
	if d := jobs[0].RunAt.Sub(f.clk.Now()); d < 15*time.Second || d > 30*time.Second {
		t.Fatalf("retry in %s", d)
	}
	f.clk.Advance(30 * time.Second)
	if n := f.runDue(); n != 1 {
		t.Fatalf("retry: ran %d jobs", n)
	}
	if jobs := f.jobs(id); jobs[0].Status != JobDone || jobs[0].Attempts != 2 {
		t.Fatalf("after the retry: %+v", jobs[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 2 {
		t.Fatalf("%d requests", len(requests))
	}
	for i, req := range requests {
		if req.Method != http.MethodPost || req.URL.Path != "/hook" || req.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("request %d: %s %s %s", i, req.Method, req.URL.Path, req.Header.Get("Content-Type"))
		}
		if got, want := req.Header.Get(SignatureHeader), Sign([]byte(secret), bodies[i]); got != want || !strings.HasPrefix(got, "sha256=") || len(got) != 7+64 {
			t.Fatalf("signature %q, want %q", got, want)
		}
		if req.Header.Get("X-Parley-Delivery") != jobs[0].ID || req.Header.Get("X-Parley-Event") != TriggerStatusChanged {
			t.Fatalf("headers: %v", req.Header)
		}
	}
	var p CallURLPayload
	if err := json.Unmarshal(bodies[1], &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != jobs[0].ID || p.Rule.ID != r.ID || p.Event.Type != TriggerStatusChanged || p.Event.ToStatus != "escalated" ||
		p.Case.ID != id || p.Case.Status != "escalated" || p.Case.CustomFields["plan"] != "gold" || p.Case.ChannelType != "whatsapp" {
		t.Fatalf("payload: %+v", p)
	}
}

func TestCallURLWithoutSecretIsUnsignedAndClientErrorsAreFinal(t *testing.T) {
	var sig []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig = append(sig, r.Header.Get(SignatureHeader))
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()
	f := newFixture(t, func(o *Options) { o.HTTP = srv.Client() })
	f.rule(RuleInput{Name: "Hook", Trigger: Trigger{Type: TriggerAssigneeChanged},
		Actions: []Action{{Type: ActionCallURL, URL: srv.URL}, {Type: ActionAddTag, Tags: []string{"hooked"}}}})
	id := f.newCase()
	f.handle(Event{Type: TriggerAssigneeChanged, CaseID: id})
	f.runDue()
	jobs := f.jobs(id)
	if len(jobs) != 1 || jobs[0].Status != JobFailed || !strings.Contains(jobs[0].LastError, "404") {
		t.Fatalf("jobs: %+v", jobs)
	}
	// One failing action does not stop the others.
	if jobs[0].Results[1].Status != ResultOK || len(f.tags(id)) != 1 {
		t.Fatalf("the other action: %+v, tags %v", jobs[0].Results, f.tags(id))
	}
	if len(sig) != 1 || sig[0] != "" {
		t.Fatalf("signature headers: %q", sig)
	}
}

func TestCallURLRefusesPrivateAddressesByDefault(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Error("the guarded client reached a loopback server")
	}))
	defer srv.Close()
	f := newFixture(t) // no HTTP client given: netguard's, private addresses refused
	f.rule(RuleInput{Name: "Hook", Trigger: Trigger{Type: TriggerCaseCreated}, Actions: []Action{{Type: ActionCallURL, URL: srv.URL}}})
	id := f.newCase()
	f.runDue()
	if jobs := f.jobs(id); len(jobs) != 1 || jobs[0].Status != JobFailed || !strings.Contains(jobs[0].LastError, "not allowed") {
		t.Fatalf("jobs: %+v", jobs)
	}
}

func TestNotifyEmailRendersPlaceholders(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{
		Name:    "Escalation alert",
		Trigger: Trigger{Type: TriggerStatusChanged, From: "open", To: "escalated"},
		Actions: []Action{{Type: ActionNotifyEmail, To: []string{"lead@example.com", "ops@example.com"},
			Subject: "Case {{ case.id }} escalated: {{case.subject}}",
			Body:    "Plan {{case.custom_fields.plan}}, priority {{case.priority}}, tags {{case.tags}}, from {{event.from_status}} ({{rule.name}})"}},
	})
	id := f.newCase()
	f.exec(`UPDATE cases SET subject = 'Line one
line two', priority = 7, custom_fields = '{"plan":"gold"}' WHERE id = ?`, id)
	f.exec(`INSERT INTO case_tags (workspace_id, case_id, tag) VALUES (?, ?, 'b'), (?, ?, 'a')`, f.ws, id, f.ws, id)
	f.setStatus(id, "open")
	f.setStatus(id, "escalated")
	f.runDue()
	sent := f.notifier.Sent()
	if len(sent) != 1 {
		t.Fatalf("sent %d emails", len(sent))
	}
	want := email{To: []string{"lead@example.com", "ops@example.com"},
		Subject: "Case " + id + " escalated: Line one line two",
		Body:    "Plan gold, priority 7, tags a, b, from open (Escalation alert)"}
	if got := sent[0]; strings.Join(got.To, ",") != strings.Join(want.To, ",") || got.Subject != want.Subject || got.Body != want.Body {
		t.Fatalf("email:\n got %+v\nwant %+v", got, want)
	}
}

func TestSendMessagePassesContent(t *testing.T) {
	f := newFixture(t)
	content := json.RawMessage(`{"type":"quick_replies","text":"How did we do?","options":[{"id":"good","label":"Good"},{"id":"bad","label":"Bad"}]}`)
	f.rule(RuleInput{
		Name:    "Survey",
		Trigger: Trigger{Type: TriggerStatusChanged, To: "resolved"},
		Actions: []Action{{Type: ActionSendMessage, Text: "Thanks for contacting us about case {{case.id}}", Content: content}},
	})
	id := f.newCase()
	f.setStatus(id, "resolved")
	f.runDue()
	calls := f.applier.callsOf("SendMessage")
	if len(calls) != 1 || calls[0].Args != "Thanks for contacting us about case "+id {
		t.Fatalf("SendMessage calls: %+v", calls)
	}
	var got, want any
	_ = json.Unmarshal(calls[0].Content, &got)
	_ = json.Unmarshal(content, &want)
	if b1, b2 := raw(got), raw(want); string(b1) != string(b2) {
		t.Fatalf("content %s, want %s", calls[0].Content, content)
	}
}

func TestFailedActionsAreRetriedAloneWithoutReevaluating(t *testing.T) {
	f := newFixture(t)
	// The condition stops holding once the first action has run: a retry
	// that evaluated it again would never finish the job.
	f.rule(RuleInput{
		Name:       "Flag and notify",
		Trigger:    Trigger{Type: TriggerCaseCreated},
		Conditions: [][]Condition{{cond("case.tags", OpNotContains, "flagged")}},
		Actions: []Action{
			{Type: ActionAddTag, Tags: []string{"flagged"}},
			{Type: ActionNotifyEmail, To: []string{"lead@example.com"}, Subject: "Flagged {{case.id}}"},
			{Type: ActionSetField, Field: "flag_reason", Value: raw("auto")},
		},
	})
	f.notifier.fail = 2
	id := f.newCase()
	f.runDue()
	j := f.jobs(id)[0]
	if j.Status != JobPending || j.Results[0].Status != ResultOK || j.Results[1].Status != ResultRetry || j.Results[2].Status != ResultOK {
		t.Fatalf("after attempt 1: %+v", j)
	}
	f.clk.Advance(30 * time.Second)
	f.runDue()
	j = f.jobs(id)[0]
	if j.Status != JobPending || j.Attempts != 2 {
		t.Fatalf("after attempt 2: %+v", j)
	}
	// Attempt 2's delay doubles: 30–60 s.
	if d := j.RunAt.Sub(f.clk.Now()); d < 30*time.Second || d > time.Minute {
		t.Fatalf("second retry in %s", d)
	}
	f.clk.Advance(time.Minute)
	f.runDue()
	j = f.jobs(id)[0]
	if j.Status != JobDone || j.Attempts != 3 || j.LastError != "" {
		t.Fatalf("after attempt 3: %+v", j)
	}
	if n := len(f.applier.callsOf("AddTags")); n != 1 {
		t.Fatalf("add_tag ran %d times", n)
	}
	if n := len(f.applier.callsOf("SetField")); n != 1 {
		t.Fatalf("set_field ran %d times", n)
	}
	if sent := f.notifier.Sent(); len(sent) != 1 || sent[0].Subject != "Flagged "+id {
		t.Fatalf("sent: %+v", sent)
	}
}

func TestJobFailsAfterMaxAttemptsOrPermanentError(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.MaxAttempts = 3 })
	f.rule(RuleInput{Name: "Notify", Trigger: Trigger{Type: TriggerCaseCreated},
		Actions: []Action{{Type: ActionNotifyEmail, To: []string{"a@example.com"}, Subject: "x"}}})
	f.notifier.fail = 100
	id := f.newCase()
	for range 3 {
		f.runDue()
		f.clk.Advance(time.Hour)
	}
	j := f.jobs(id)[0]
	if j.Status != JobFailed || j.Attempts != 3 || !strings.Contains(j.LastError, "gave up after 3 attempts") || !strings.Contains(j.LastError, "451") {
		t.Fatalf("job: %+v", j)
	}
	if n := f.runDue(); n != 0 {
		t.Fatalf("a failed job ran again")
	}

	f.rule(RuleInput{Name: "Reroute", Trigger: Trigger{Type: TriggerAssigneeChanged}, Actions: []Action{{Type: ActionReroute, SkillID: "skill-billing"}}})
	f.applier.failNext("Reroute", 1, true)
	other := f.newCase()
	f.handle(Event{Type: TriggerAssigneeChanged, CaseID: other})
	f.runDue()
	var reroute Job
	for _, j := range f.jobs(other) {
		if j.Event.Type == TriggerAssigneeChanged {
			reroute = j
		}
	}
	if reroute.Status != JobFailed || reroute.Attempts != 1 || !strings.Contains(reroute.LastError, "injected") {
		t.Fatalf("a permanent failure: %+v", reroute)
	}
}

func TestBeforeCloseRunsSynchronously(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{
		Name:       "Goodbye VIPs",
		Trigger:    Trigger{Type: TriggerBeforeCaseClosed},
		Conditions: [][]Condition{{cond("case.tags", OpContains, "vip"), cond("event.from_status", OpEq, "resolved")}},
		Actions:    []Action{{Type: ActionSendMessage, Text: "Goodbye!"}, {Type: ActionSetField, Field: "closed_by", Value: raw("automation")}},
	})
	vip, other := f.newCase(), f.newCase()
	f.exec(`INSERT INTO case_tags (workspace_id, case_id, tag) VALUES (?, ?, 'vip')`, f.ws, vip)
	f.setStatus(vip, "resolved")
	f.setStatus(other, "resolved")
	ctx := context.Background()
	if err := f.eng.BeforeClose(ctx, f.ws, vip); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.BeforeClose(ctx, f.ws, other); err != nil {
		t.Fatal(err)
	}
	// Done when BeforeClose returns: no RunDue needed.
	calls := f.applier.Calls()
	if len(calls) != 2 || calls[0].Method != "SendMessage" || calls[0].CaseID != vip || calls[1].Args != `closed_by="automation"` {
		t.Fatalf("calls: %+v", calls)
	}
	jobs := f.jobs(vip)
	if len(jobs) != 1 || jobs[0].Status != JobDone || jobs[0].Event.Type != TriggerBeforeCaseClosed || jobs[0].Event.ToStatus != "closed" {
		t.Fatalf("jobs: %+v", jobs)
	}
	if n := len(f.jobs(other)); n != 0 {
		t.Fatalf("a case that did not match has %d jobs", n)
	}
	if err := f.eng.BeforeClose(ctx, f.ws, "no-such-case"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown case: %v", err)
	}

	// A failing action is retried in the background; the close goes on.
	f.applier.failNext("SendMessage", 1, false)
	if err := f.eng.BeforeClose(ctx, f.ws, vip); err != nil {
		t.Fatal(err)
	}
	jobs = f.jobs(vip)
	if jobs[1].Status != JobPending || jobs[1].Results[0].Status != ResultRetry || jobs[1].Results[1].Status != ResultOK {
		t.Fatalf("a failed before-close job: %+v", jobs[1])
	}
	f.exec(`UPDATE cases SET status = 'closed' WHERE id = ?`, vip)
	f.clk.Advance(time.Minute)
	f.runDue()
	if j := f.jobs(vip)[1]; j.Status != JobDone {
		t.Fatalf("the retry (on the now closed case): %+v", j)
	}
}

func TestRulesStoreAndCache(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.RuleCacheTTL = time.Minute })
	ctx := context.Background()
	in := RuleInput{Name: "  Tag new  ", Trigger: Trigger{Type: TriggerCaseCreated}, Actions: []Action{{Type: ActionAddTag, Tags: []string{" New "}}}}
	r := f.rule(in)
	if r.Name != "Tag new" || !r.Enabled || r.Actions[0].Tags[0] != "new" || r.HasSecret {
		t.Fatalf("created: %+v", r)
	}
	got, err := f.eng.GetRule(ctx, f.ws, r.ID)
	if err != nil || got.Name != r.Name || !got.CreatedAt.Equal(r.CreatedAt) || len(got.Conditions) != 0 {
		t.Fatalf("get: %+v %v", got, err)
	}
	if _, err := f.eng.GetRule(ctx, "other-ws", r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another workspace sees the rule: %v", err)
	}
	if _, err := f.eng.CreateRule(ctx, f.ws, "user-1", in); err != ErrNameTaken {
		t.Fatalf("duplicate name: %v", err)
	}
	var ve *ValidationError
	_, err = f.eng.CreateRule(ctx, f.ws, "user-1", RuleInput{Name: "Reroute", Trigger: Trigger{Type: TriggerCaseCreated},
		Actions: []Action{{Type: ActionAddTag, Tags: []string{"x"}}, {Type: ActionReroute, SkillID: "skill-nope"}}})
	if !errors.As(err, &ve) || ve.FieldName() != "actions[1].skill_id" {
		t.Fatalf("unknown skill: %v", err)
	}

	a := f.newCase()
	f.runDue()
	if tags := f.tags(a); len(tags) != 1 {
		t.Fatalf("tags: %v", tags)
	}
	// Disabled: no new jobs; a job already pending is skipped.
	f.rule(RuleInput{Name: "Later", Trigger: Trigger{Type: TriggerCaseCreated}, DelaySeconds: 60, Actions: []Action{{Type: ActionAddTag, Tags: []string{"later"}}}})
	b := f.newCase()
	if err := f.eng.DisableRule(ctx, f.ws, "user-1", r.ID); err != nil {
		t.Fatal(err)
	}
	c := f.newCase()
	f.runDue()
	if tags := f.tags(b); len(tags) != 0 {
		t.Fatalf("a disabled rule ran: %v", tags)
	}
	if n := len(f.jobs(c)); n != 1 { // only "Later"
		t.Fatalf("case created after disabling has %d jobs", n)
	}
	rules, err := f.eng.ListRules(ctx, f.ws)
	if err != nil || len(rules) != 2 || rules[0].Enabled || !rules[1].Enabled {
		t.Fatalf("list: %+v %v", rules, err)
	}
	// Deleting "Later" skips its pending jobs.
	if err := f.eng.DeleteRule(ctx, f.ws, "user-1", rules[1].ID); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.DeleteRule(ctx, f.ws, "user-1", rules[1].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	f.clk.Advance(time.Minute)
	f.runDue()
	for _, j := range f.jobs(c) {
		if j.Status != JobSkipped || j.LastError != "the rule was deleted" {
			t.Fatalf("job of a deleted rule: %+v", j)
		}
	}

	// Update keeps the secret unless told; Enable turns the rule back on.
	secret := "abc"
	in.Secret = &secret
	in.Name = "Tag new"
	if _, err := f.eng.UpdateRule(ctx, f.ws, "user-1", r.ID, in); err != nil {
		t.Fatal(err)
	}
	in.Secret = nil
	in.Actions[0].Tags = []string{"renamed"}
	up, err := f.eng.UpdateRule(ctx, f.ws, "user-1", r.ID, in)
	if err != nil || !up.HasSecret || up.Enabled || up.Actions[0].Tags[0] != "renamed" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if err := f.eng.EnableRule(ctx, f.ws, "user-1", r.ID); err != nil {
		t.Fatal(err)
	}
	d := f.newCase()
	f.runDue()
	if tags := f.tags(d); len(tags) != 1 || tags[0] != "renamed" {
		t.Fatalf("after update and enable: %v", tags)
	}
	if _, err := f.eng.UpdateRule(ctx, f.ws, "user-1", "nope", in); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
}

func TestSecretsAreSealedAtRest(t *testing.T) {
	box := &xorBox{}
	f := newFixture(t, func(o *Options) { o.Secrets = box })
	secret := "top-secret"
	r := f.rule(RuleInput{Name: "Hook", Trigger: Trigger{Type: TriggerCaseCreated}, Actions: []Action{{Type: ActionCallURL, URL: "https://example.com/h"}}, Secret: &secret})
	var stored string
	if err := f.db.QueryRowContext(context.Background(), `SELECT secret FROM automation_rules WHERE id = ?`, r.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == secret || !strings.HasPrefix(stored, "sealed:automation_rule:"+r.ID+":") {
		t.Fatalf("stored secret %q", stored)
	}
	rules, err := f.eng.rulesFor(context.Background(), f.ws)
	if err != nil || len(rules) != 1 || string(rules[0].secret) != secret {
		t.Fatalf("opened secret: %v %v", rules, err)
	}
}

// xorBox is a stand-in SecretBox that marks what it seals.
type xorBox struct{}

func (xorBox) Seal(p []byte, context string) string { return "sealed:" + context + ":" + string(p) }
func (xorBox) Open(s, context string) ([]byte, error) {
	v, ok := strings.CutPrefix(s, "sealed:"+context+":")
	if !ok {
		return nil, errors.New("wrong context")
	}
	return []byte(v), nil
}

func TestHandleTxCommitsJobsWithTheChange(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{Name: "Tag", Trigger: Trigger{Type: TriggerAssigneeChanged}, Actions: []Action{{Type: ActionAddTag, Tags: []string{"x"}}}})
	id := f.newCase()
	ctx := context.Background()
	boom := errors.New("boom")
	err := f.db.InTx(ctx, func(tx *store.Tx) error {
		if err := f.eng.HandleTx(ctx, tx, Event{Type: TriggerAssigneeChanged, WorkspaceID: f.ws, CaseID: id}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || len(f.jobs(id)) != 0 {
		t.Fatalf("a rolled-back change left jobs: %v %v", err, f.jobs(id))
	}
	err = f.db.InTx(ctx, func(tx *store.Tx) error {
		return f.eng.HandleTx(ctx, tx, Event{Type: TriggerAssigneeChanged, WorkspaceID: f.ws, CaseID: id})
	})
	if err != nil || len(f.jobs(id)) != 1 {
		t.Fatalf("committed: %v %v", err, f.jobs(id))
	}
	for _, ev := range []Event{
		{Type: "nope", WorkspaceID: f.ws, CaseID: id},
		{Type: TriggerStatusChanged, WorkspaceID: f.ws, CaseID: id},
		{Type: TriggerMessageCreated, WorkspaceID: f.ws, CaseID: id},
		{Type: TriggerBeforeCaseClosed, WorkspaceID: f.ws, CaseID: id},
		{Type: TriggerCaseCreated, WorkspaceID: f.ws},
	} {
		if err := f.eng.Handle(ctx, ev); err == nil {
			t.Errorf("event %+v accepted", ev)
		}
	}
}

func TestExpiredLeaseIsTakenOverAndTheOldClaimFenced(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{Name: "Tag", Trigger: Trigger{Type: TriggerCaseCreated}, Actions: []Action{{Type: ActionAddTag, Tags: []string{"x"}}}})
	id := f.newCase()
	ctx := context.Background()
	// A node claims the job and dies.
	claimed, err := f.eng.claim(ctx, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	if n := f.runDue(); n != 0 {
		t.Fatalf("a leased job ran again: %d", n)
	}
	f.clk.Advance(2*time.Minute + time.Second)
	if n := f.runDue(); n != 1 {
		t.Fatalf("the expired lease was not taken over: %d", n)
	}
	j := f.jobs(id)[0]
	if j.Status != JobDone || j.Attempts != 2 {
		t.Fatalf("job: %+v", j)
	}
	// The dead node comes back and tries to record its outcome: refused.
	f.eng.finish(claimed[0], JobFailed, "stale")
	if j := f.jobs(id)[0]; j.Status != JobDone {
		t.Fatalf("a stale claim overwrote the outcome: %+v", j)
	}
}

func TestJobsOfOneCaseRunInOrder(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Workers = 8 })
	for _, tag := range []string{"first", "second", "third"} {
		f.rule(RuleInput{Name: tag, Trigger: Trigger{Type: TriggerCaseCreated}, Actions: []Action{{Type: ActionAddTag, Tags: []string{tag}}}})
	}
	id := f.newCase()
	if n := f.runDue(); n != 3 {
		t.Fatalf("ran %d", n)
	}
	var order []string
	for _, c := range f.applier.callsOf("AddTags") {
		order = append(order, c.Args)
	}
	if strings.Join(order, ",") != "first,second,third" {
		t.Fatalf("order: %v (case %s)", order, id)
	}
}

func TestRunWakesOnHandle(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Poll = time.Hour })
	f.applier.called = make(chan call, 10)
	f.rule(RuleInput{Name: "Tag", Trigger: Trigger{Type: TriggerAssigneeChanged}, Actions: []Action{{Type: ActionAddTag, Tags: []string{"x"}}}})
	id := f.newCase()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- f.eng.Run(ctx) }()
	f.handle(Event{Type: TriggerAssigneeChanged, CaseID: id})
	select {
	case c := <-f.applier.called:
		if c.CaseID != id {
			t.Fatalf("call %+v", c)
		}
	case <-time.After(30 * time.Second): // a failure bound, not a wait
		t.Fatal("Run did not pick up the job")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPurgeFinished(t *testing.T) {
	f := newFixture(t)
	f.rule(RuleInput{Name: "Tag", Trigger: Trigger{Type: TriggerCaseCreated}, Actions: []Action{{Type: ActionAddTag, Tags: []string{"x"}}}})
	f.rule(RuleInput{Name: "Later", Trigger: Trigger{Type: TriggerCaseCreated}, DelaySeconds: 86400, Actions: []Action{{Type: ActionAddTag, Tags: []string{"y"}}}})
	id := f.newCase()
	f.runDue()
	f.clk.Advance(time.Hour)
	n, err := f.eng.PurgeFinished(context.Background(), f.clk.Now())
	if err != nil || n != 1 {
		t.Fatalf("purged %d: %v", n, err)
	}
	if jobs := f.jobs(id); len(jobs) != 1 || jobs[0].Status != JobPending {
		t.Fatalf("left: %+v", jobs)
	}
}
