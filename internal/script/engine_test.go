package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/hours"
)

// testTimeout is the time limit of tests that are not about it: generous,
// because the machine running the tests may be loaded.
const testTimeout = time.Minute

// parisOffice is Monday–Friday 09:00–17:30 in Paris.
func parisOffice() *hours.Schedule {
	day := []hours.Interval{{Start: "09:00", End: "17:30"}}
	return &hours.Schedule{Timezone: "Europe/Paris", Weekly: map[string][]hours.Interval{
		"mon": day, "tue": day, "wed": day, "thu": day, "fri": day,
	}}
}

func paris(t testing.TB, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// messageInput is an inbound WhatsApp message on an existing case.
func messageInput(t testing.TB, text string) Input {
	return Input{
		Event:   EventMessage,
		Now:     paris(t, "2026-03-23 10:00"), // a Monday
		Hours:   parisOffice(),
		Message: &Message{ID: "m1", Text: text, ContentType: "text"},
		Contact: Contact{ID: "c1", Name: "Ada", Email: "ada@example.com",
			Identities: []Identity{{Channel: "whatsapp", Address: "+33600000001"}},
			Fields:     map[string]any{"plan": "gold", "orders": float64(3), "tags": []any{"a", "b"}}},
		Case:    Case{ID: "k1", Status: "new", Priority: 10, Tags: []string{"vip"}, Fields: map[string]any{}, New: true},
		Channel: Channel{Type: "whatsapp", PointOfContactID: "p1", Name: "Support WA"},
	}
}

func compile(t testing.TB, e *Engine, source string) *Program {
	t.Helper()
	p, err := e.Compile("test.star", source)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return p
}

func mustRun(t testing.TB, e *Engine, source string, in Input) Result {
	t.Helper()
	res := e.Run(context.Background(), compile(t, e, source), in)
	if res.Err != nil {
		t.Fatalf("Run: %v\nlogs: %v", res.Err, res.Logs)
	}
	return res
}

const billingScript = `
if event == "message" and "invoice" in message.text.lower():
    set_skill("billing")
    if not in_business_hours():
        reply_quick_replies("We are closed right now. What can we do for you?",
                            ["Pay an invoice", ("agent", "Talk to someone tomorrow")])
`

// TestBillingScenario is the acceptance scenario: skill "billing" when the
// text mentions an invoice, and a quick-reply menu out of hours.
func TestBillingScenario(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	p := compile(t, e, billingScript)

	in := messageInput(t, "Where is my INVOICE?")
	res := e.Run(context.Background(), p, in)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if want := []Action{{Type: ActionSetSkill, Skill: "billing"}}; !reflect.DeepEqual(res.Actions, want) {
		t.Fatalf("in hours: actions = %+v, want %+v", res.Actions, want)
	}
	if res.Steps == 0 || res.Duration <= 0 {
		t.Fatalf("steps %d, duration %v", res.Steps, res.Duration)
	}

	in.Now = paris(t, "2026-03-23 20:00") // Monday evening
	res = e.Run(context.Background(), p, in)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Actions) != 2 || res.Actions[0].Type != ActionSetSkill || res.Actions[0].Skill != "billing" {
		t.Fatalf("out of hours: actions = %+v", res.Actions)
	}
	reply := res.Actions[1]
	if reply.Type != ActionReply || reply.Text != "" || len(reply.Content) == 0 {
		t.Fatalf("out of hours: second action = %+v, want a rich reply", reply)
	}
	var c content.Content
	dec := json.NewDecoder(strings.NewReader(string(reply.Content)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("reply content does not validate: %v", err)
	}
	want := content.Content{Type: content.TypeQuickReplies, Text: "We are closed right now. What can we do for you?", Options: []content.Option{
		{ID: "pay_an_invoice", Label: "Pay an invoice"}, {ID: "agent", Label: "Talk to someone tomorrow"},
	}}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("reply content = %+v, want %+v", c, want)
	}

	// Nothing about invoices, or no message at all: nothing to do.
	for _, in := range []Input{messageInput(t, "hello"), {Event: EventCaseCreated, Now: in.Now, Hours: in.Hours}} {
		if res := e.Run(context.Background(), p, in); res.Err != nil || len(res.Actions) != 0 {
			t.Fatalf("unrelated event: %+v", res)
		}
	}
}

func TestStepLimit(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	p := compile(t, e, "set_skill(\"early\")\nwhile True:\n    pass\n")
	res := e.Run(context.Background(), p, messageInput(t, "x"))
	if res.Err == nil || !strings.Contains(res.Err.Error(), "step limit") || !errors.Is(res.Err, ErrStepLimit) {
		t.Fatalf("Err = %v, want the step limit", res.Err)
	}
	if len(res.Actions) != 0 {
		t.Fatalf("actions applied despite the error: %+v", res.Actions)
	}
	var se *Error
	if !errors.As(res.Err, &se) || se.Line < 1 || se.Script != "test.star" {
		t.Fatalf("Err = %#v, want a position", res.Err)
	}
	if res.Steps < DefaultMaxSteps-1 || res.Steps > DefaultMaxSteps+1 {
		t.Fatalf("Steps = %d, want about %d", res.Steps, DefaultMaxSteps)
	}
	small := &Engine{Timeout: testTimeout, MaxSteps: 500}
	res = small.Run(context.Background(), compile(t, small, "for i in range(1000):\n    x = i\n"), messageInput(t, "x"))
	if !errors.Is(res.Err, ErrStepLimit) || !strings.Contains(res.Err.Error(), "step limit of 500") {
		t.Fatalf("Err = %v, want the 500-step limit", res.Err)
	}
}

func TestTimeout(t *testing.T) {
	e := &Engine{MaxSteps: 1 << 62, Timeout: 30 * time.Millisecond}
	res := e.Run(context.Background(), compile(t, e, "add_tag(\"a\")\nwhile True:\n    pass\n"), messageInput(t, "x"))
	if !errors.Is(res.Err, ErrTimeout) || !strings.Contains(res.Err.Error(), "time limit") {
		t.Fatalf("Err = %v, want the time limit", res.Err)
	}
	if len(res.Actions) != 0 {
		t.Fatalf("actions applied despite the error: %+v", res.Actions)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := e.Run(ctx, compile(t, e, "add_tag(\"a\")"), messageInput(t, "x")); !errors.Is(res.Err, ErrCancelled) {
		t.Fatalf("cancelled context: Err = %v", res.Err)
	}

	// The caller's own deadline is the caller's cancellation.
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	patient := &Engine{MaxSteps: 1 << 62, Timeout: time.Minute}
	if res := patient.Run(short, compile(t, patient, "while True:\n    pass\n"), messageInput(t, "x")); !errors.Is(res.Err, ErrCancelled) {
		t.Fatalf("caller's deadline: Err = %v", res.Err)
	}

	// Cancelled while running (by a bot, here): the caller's cancellation,
	// not the time limit.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	canceller := &Engine{MaxSteps: 1 << 62, Timeout: time.Minute, Bots: botFunc(func(context.Context, string, BotRequest) ([]Action, error) {
		cancel()
		return nil, nil
	})}
	res = canceller.Run(ctx, compile(t, canceller, "hand_to_bot(\"x\")\nwhile True:\n    pass\n"), messageInput(t, "x"))
	if !errors.Is(res.Err, ErrCancelled) {
		t.Fatalf("cancelled during the run: Err = %v", res.Err)
	}
}

func TestBadArguments(t *testing.T) {
	tests := []struct{ call, want string }{
		{`set_skill("")`, "set_skill: a skill name is 1 to 100 characters"},
		{`set_skill(3)`, "set_skill: for parameter name: got int, want string"},
		{`set_priority(101)`, "set_priority: priority must be between 0 and 100, not 101"},
		{`set_priority(-1)`, "set_priority: priority must be between 0 and 100"},
		{`set_priority("high")`, "set_priority: for parameter n: got string, want int"},
		{`set_priority(1 << 80)`, "set_priority: priority must be between 0 and 100"},
		{`add_tag("")`, "add_tag: a tag is 1 to 64 bytes without commas"},
		{`add_tag("a,b")`, "add_tag: a tag is 1 to 64 bytes without commas"},
		{`remove_tag("x" * 65)`, "remove_tag: a tag is 1 to 64 bytes"},
		{`set_field("bad name", 1)`, "set_field: a field name is 1 to 64"},
		{`set_field("x", float("nan"))`, "set_field: nan is not a JSON number"},
		{`set_field("x", set([1]))`, "set_field: a set cannot be stored"},
		{`set_field("x", {1: 2})`, "set_field: dict keys must be strings"},
		{`set_field("x", "y" * 5000)`, "set_field: the value of x is larger than 4096 bytes"},
		{`set_field("x")`, "set_field: missing argument for value"},
		{`reply()`, "reply: give a text or content={...}"},
		{`reply("   ")`, "reply: a reply needs a text or a content"},
		{`reply("a" * 4097)`, "reply: the text is longer than 4096 characters"},
		{`reply("a", content={"type": "text", "text": "a"})`, "reply: give a text or a content, not both"},
		{`reply(content="text")`, "reply: content must be a dict, not string"},
		{`reply(content={"type": "quick_replies", "text": "?", "options": []})`, "invalid content: options"},
		{`reply(content={"type": "text", "txt": "a"})`, `reply: content: unknown field "txt"`},
		{`reply(content={"type": "file", "media": {"url": "http://insecure.example/a.pdf"}})`, "invalid content: media"},
		{`reply_quick_replies("?", [])`, "reply_quick_replies: give 1 to 10 options, not 0"},
		{`reply_quick_replies("?", ["o"] * 11)`, "reply_quick_replies: give 1 to 10 options, not 11"},
		{`reply_quick_replies("?", [1])`, "reply_quick_replies: options[0] must be a label or an (id, label) pair"},
		{`reply_quick_replies("?", [("a", "b", "c")])`, "reply_quick_replies: options[0] must be a label or an (id, label) pair"},
		{`reply_quick_replies("?", [("bad id", "B")])`, "invalid content: options[0].id"},
		{`reply_quick_replies("?", "abc")`, "reply_quick_replies: options must be a list, not string"},
		{`reply_quick_replies("", ["a"])`, "invalid content: text"},
		{`set_status("new")`, `set_status: status must be open, pending, escalated, resolved, closed or trashed, not "new"`},
		{`route_to_agent("ada lovelace")`, "route_to_agent: an agent is an email or a user id"},
		{`hand_to_bot("no spaces please")`, "hand_to_bot: a bot name is 1 to 100 letters"},
		{`stop("delete")`, `stop: stop takes "close" or "trash", not "delete"`},
		{`stop()`, "stop: missing argument for how"},
		{`log(x=1)`, "log: unexpected keyword argument"},
		{`now(1)`, "now: got 1 arguments, want at most 0"},
		{`case.tags.append("x")`, "frozen"},
		{`contact.fields["plan"] = "x"`, "frozen"},
		{`message.text = "x"`, "can't assign to .text field of struct"},
	}
	e := &Engine{Timeout: testTimeout}
	for _, tt := range tests {
		t.Run(tt.call, func(t *testing.T) {
			// Line 1 is fine; the bad call is on line 3, inside a function
			// (the innermost script line is reported).
			src := "add_tag(\"ok\")\ndef f():\n    " + tt.call + "\nf()\n"
			res := e.Run(context.Background(), compile(t, e, src), messageInput(t, "x"))
			if res.Err == nil {
				t.Fatalf("no error; actions %+v", res.Actions)
			}
			if !strings.Contains(res.Err.Error(), tt.want) {
				t.Fatalf("Err = %v, want it to mention %q", res.Err, tt.want)
			}
			var se *Error
			if !errors.As(res.Err, &se) || se.Line != 3 || !strings.HasPrefix(res.Err.Error(), "test.star:3:") {
				t.Fatalf("Err = %q (%#v), want it at test.star:3", res.Err, se)
			}
			if len(res.Actions) != 0 {
				t.Fatalf("actions kept despite the error: %+v", res.Actions)
			}
		})
	}
}

func TestEveryAction(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	src := `
set_skill("  Billing ")
set_priority(80)
add_tag("VIP ")
remove_tag("new")
set_field("order", {"id": 42, "items": ["a", "b"], "paid": False, "total": 12.5, "note": None})
set_field("stale", None)
reply("Hello " + contact.name)
reply(content={"type": "list_picker", "text": "Pick", "options": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}]})
reply_quick_replies("Sure?", ["Yes", "Yes!", "¿?", ("no", "No")])
set_status("pending")
route_to_agent("ada@example.com")
stop("close")
set_skill("never reached")
`
	res := mustRun(t, e, src, messageInput(t, "x"))
	qr, _ := json.Marshal(content.Content{Type: content.TypeQuickReplies, Text: "Sure?", Options: []content.Option{
		{ID: "yes", Label: "Yes"}, {ID: "option_2", Label: "Yes!"}, {ID: "option_3", Label: "¿?"}, {ID: "no", Label: "No"},
	}})
	lp, _ := json.Marshal(content.Content{Type: content.TypeListPicker, Text: "Pick", Options: []content.Option{{ID: "a", Label: "A"}, {ID: "b", Label: "B"}}})
	want := []Action{
		{Type: ActionSetSkill, Skill: "Billing"},
		{Type: ActionSetPriority, Priority: 80},
		{Type: ActionAddTag, Tag: "vip"},
		{Type: ActionRemoveTag, Tag: "new"},
		{Type: ActionSetField, Field: "order", Value: map[string]any{"id": int64(42), "items": []any{"a", "b"}, "paid": false, "total": 12.5, "note": nil}},
		{Type: ActionSetField, Field: "stale"},
		{Type: ActionReply, Text: "Hello Ada"},
		{Type: ActionReply, Content: lp},
		{Type: ActionReply, Content: qr},
		{Type: ActionSetStatus, Status: "pending"},
		{Type: ActionRouteToAgent, Agent: "ada@example.com"},
		{Type: ActionStop, Stop: "close"},
	}
	if !reflect.DeepEqual(res.Actions, want) {
		got, _ := json.MarshalIndent(res.Actions, "", " ")
		exp, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("actions:\n%s\nwant:\n%s", got, exp)
	}
	// Actions survive a JSON round trip (the caller may queue them).
	raw, err := json.Marshal(res.Actions)
	if err != nil {
		t.Fatal(err)
	}
	var back []Action
	if err := json.Unmarshal(raw, &back); err != nil || len(back) != len(want) {
		t.Fatalf("round trip: %v", err)
	}
	for i, a := range back {
		if _, err := a.Normalize(); err != nil {
			t.Fatalf("action %d does not normalize after a round trip: %v", i, err)
		}
	}
}

func TestReadsInput(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	in := messageInput(t, "Hi")
	in.Message.ChoiceOptionIDs = []string{"pay"}
	in.Message.Attachments = 2
	src := `
log(event, message.id, message.text, message.content_type, message.choice_option_ids, message.attachments)
log(contact.id, contact.name, contact.email, contact.phone, contact.identities[0].channel, contact.identities[0].address)
log(contact.fields["plan"], contact.fields["orders"] + 1, contact.fields["tags"])
log(case.id, case.status, case.skill, case.priority, case.tags, case.new, "vip" in case.tags, case.fields)
log(channel.type, channel.point_of_contact_id, channel.name)
print("printed", 1)
`
	res := mustRun(t, e, src, in)
	want := []string{
		`message m1 Hi text ["pay"] 2`,
		`c1 Ada ada@example.com  whatsapp +33600000001`,
		`gold 4 ["a", "b"]`,
		`k1 new  10 ["vip"] True True {}`,
		`whatsapp p1 Support WA`,
		`printed 1`,
	}
	if !reflect.DeepEqual(res.Logs, want) {
		t.Fatalf("logs = %q\nwant %q", res.Logs, want)
	}

	res = mustRun(t, e, `log(message == None, event)`, Input{Event: EventCaseCreated, Now: in.Now})
	if !reflect.DeepEqual(res.Logs, []string{"True case_created"}) {
		t.Fatalf("logs = %q", res.Logs)
	}
}

func TestNowAndHours(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	src := `
t = now()
log(t.weekday, t.date, t.time, t.hour, t.minute, t.timezone, t.unix, in_business_hours())
n = next_open()
log(n.weekday, n.date, n.time)
`
	in := messageInput(t, "x")
	in.Now = paris(t, "2026-03-28 11:45") // Saturday, CET
	res := mustRun(t, e, src, in)
	want := []string{
		fmt.Sprintf("sat 2026-03-28 11:45 11 45 Europe/Paris %d False", in.Now.Unix()),
		"mon 2026-03-30 09:00", // after the switch to CEST
	}
	if !reflect.DeepEqual(res.Logs, want) {
		t.Fatalf("logs = %q, want %q", res.Logs, want)
	}

	// A compiled calendar is used the same way.
	in.Calendar, in.Hours = in.Hours.Calendar(), nil
	if res := mustRun(t, e, src, in); res.Logs[0] != want[0] || res.Logs[1] != want[1] {
		t.Fatalf("with a Calendar: logs = %q, want %q", res.Logs, want)
	}

	in.Calendar = nil // always open, UTC
	in.Now = time.Date(2026, 3, 28, 10, 45, 0, 0, time.UTC)
	res = mustRun(t, e, src, in)
	want = []string{
		fmt.Sprintf("sat 2026-03-28 10:45 10 45 UTC %d True", in.Now.Unix()),
		"sat 2026-03-28 10:45",
	}
	if !reflect.DeepEqual(res.Logs, want) {
		t.Fatalf("logs = %q, want %q", res.Logs, want)
	}
}

func TestLimits(t *testing.T) {
	e := &Engine{Timeout: testTimeout, MaxActions: 3}
	res := e.Run(context.Background(), compile(t, e, "for i in range(4):\n    add_tag(\"t%d\" % i)\n"), messageInput(t, "x"))
	if !errors.Is(res.Err, ErrTooManyActions) || len(res.Actions) != 0 {
		t.Fatalf("Err = %v, actions %v; want too many actions and none kept", res.Err, res.Actions)
	}
	// Logs are bounded, and a run that logs a lot still succeeds.
	res = mustRun(t, &Engine{Timeout: testTimeout}, "for i in range(150):\n    log(\"x\" * 2000)\n", messageInput(t, "x"))
	if len(res.Logs) != maxLogLines+1 || !strings.Contains(res.Logs[maxLogLines], "50 more log lines dropped") || len(res.Logs[0]) > maxLogLineBytes+len("…") {
		t.Fatalf("logs: %d lines, last %q", len(res.Logs), res.Logs[len(res.Logs)-1])
	}
	// Recursion stays forbidden.
	res = (&Engine{Timeout: testTimeout}).Run(context.Background(), compile(t, &Engine{Timeout: testTimeout}, "def f(n):\n    return f(n)\nf(1)\n"), messageInput(t, "x"))
	if res.Err == nil || !strings.Contains(res.Err.Error(), "recursive") {
		t.Fatalf("recursion: Err = %v", res.Err)
	}
	// An unknown event is refused before running.
	if res := e.Run(context.Background(), compile(t, e, "pass"), Input{Event: "typing"}); res.Err == nil {
		t.Fatal("unknown event accepted")
	}
	if res := e.Run(context.Background(), nil, messageInput(t, "x")); res.Err == nil {
		t.Fatal("nil program accepted")
	}
}

func TestCompileErrors(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	tests := []struct{ src, want string }{
		{"set_skill(\"a\"\n", "line 2:1: "},
		{"x = 1\nif x:\nset_skill(\"a\")\n", "line 3:10: got identifier, want indent"},
		{"x = 1\n\nfoo(x)\n", "line 3:1: undefined: foo"},
		{"a()\nb()\n", "line 1:1: undefined: a; line 2:1: undefined: b"},
		{"load(\"lib.star\", \"f\")\n", "line 1:6: load() is not available in scripts"},
		{"x = \"\xff\"\n", "not valid UTF-8"},
		{strings.Repeat("#", MaxSourceBytes+1), "at most 65536 bytes"},
	}
	for _, tt := range tests {
		_, err := e.Compile("s.star", tt.src)
		var ve *ValidationError
		if !errors.As(err, &ve) || ve.Field != "source" || !strings.Contains(ve.Reason, tt.want) {
			t.Errorf("Compile(%.40q) = %v, want a source error with %q", tt.src, err, tt.want)
		}
		if ve != nil && (ve.FieldName() != "source" || ve.FieldReason() != ve.Reason) {
			t.Errorf("FieldName/FieldReason = %q/%q", ve.FieldName(), ve.FieldReason())
		}
	}
	// while, top-level if/for and reassignment are part of the dialect.
	compile(t, e, "x = 0\nwhile x < 3:\n    x += 1\nx = 5\nfor i in []:\n    pass\n")
}

// TestPredeclaredMatchesBuiltins keeps the compile-time name list and the
// run-time globals in step.
func TestPredeclaredMatchesBuiltins(t *testing.T) {
	r := &run{engine: &Engine{Timeout: testTimeout}, in: &Input{Event: EventMessage}}
	globals, err := r.predeclared()
	if err != nil {
		t.Fatal(err)
	}
	for name := range globals {
		if !isPredeclared(name) {
			t.Errorf("%s is defined at run time but unknown to Compile", name)
		}
	}
	for _, name := range []string{"event", "message", "contact", "case", "channel", "now", "in_business_hours", "next_open", "set_skill",
		"set_priority", "add_tag", "remove_tag", "set_field", "reply", "reply_quick_replies", "set_status", "route_to_agent", "hand_to_bot", "stop", "log"} {
		if _, ok := globals[name]; !ok || !isPredeclared(name) {
			t.Errorf("%s missing", name)
		}
	}
}

func TestPanicsStayInside(t *testing.T) {
	e := &Engine{Timeout: testTimeout, Bots: botFunc(func(context.Context, string, BotRequest) ([]Action, error) { panic("bot exploded") })}
	res := e.Run(context.Background(), compile(t, e, "add_tag(\"a\")\nhand_to_bot(\"b\")\n"), messageInput(t, "x"))
	if !errors.Is(res.Err, ErrInternal) || !strings.Contains(res.Err.Error(), "bot exploded") || len(res.Actions) != 0 {
		t.Fatalf("Err = %v, actions %v", res.Err, res.Actions)
	}
	// A field value the script cannot hold is an error, not a panic.
	in := messageInput(t, "x")
	in.Case.Fields = map[string]any{"ch": make(chan int)}
	if res := e.Run(context.Background(), compile(t, e, "pass"), in); res.Err == nil {
		t.Fatal("unconvertible field accepted")
	}
}

func TestConcurrentRuns(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	p := compile(t, e, billingScript+"\nadd_tag(contact.name)\n")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in := messageInput(t, "invoice")
			in.Contact.Name = fmt.Sprintf("n%d", i)
			if i%2 == 1 {
				in.Now = paris(t, "2026-03-23 22:00")
			}
			res := e.Run(context.Background(), p, in)
			switch {
			case res.Err != nil:
				errs <- res.Err
			case len(res.Actions) != 2+i%2 || res.Actions[len(res.Actions)-1].Tag != in.Contact.Name:
				errs <- fmt.Errorf("run %d: actions %+v", i, res.Actions)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// FuzzCompileRun: any source compiles or is refused with a position, and
// running it never panics inside the engine, never breaks all-or-nothing,
// and only ever returns valid actions.
func FuzzCompileRun(f *testing.F) {
	for _, seed := range []string{
		billingScript,
		"while True:\n    pass\n",
		"set_priority(5)\nadd_tag('x')\nstop('trash')\n",
		"reply(content={'type': 'quick_replies', 'text': 'q', 'options': [{'id': 'a', 'label': 'A'}]})",
		"x = [i * 2 for i in range(10) if i % 3]\nset_field('x', x)\n",
		"def f(a, *b, **c):\n    return a\nlog(f(1, 2, k=3), now().hour, in_business_hours())\n",
		"if hand_to_bot('faq'):\n    add_tag('bot')\nelse:\n    set_skill('support')\n",
		"reply_quick_replies('?', ['a', ('b', 'B'), 'a'])",
		"set_field('a', {'b': [1, 2.5, None, True]})\nroute_to_agent(case.assignee or 'x@y.z')",
		"load('x', 'y')",
		"s = 'ab'\nfor i in range(5):\n    s += s\nlog(len(s))",
	} {
		f.Add(seed)
	}
	bots := botFunc(func(_ context.Context, bot string, _ BotRequest) ([]Action, error) {
		if bot == "faq" {
			return []Action{{Type: ActionReply, Text: "hi"}, {Type: ActionHandBack}}, nil
		}
		return nil, errors.New("no such bot")
	})
	e := &Engine{MaxSteps: 20_000, Timeout: 200 * time.Millisecond, Bots: bots}
	in := messageInput(f, "invoice please")
	f.Fuzz(func(t *testing.T, src string) {
		if hugeLiteral(src) {
			t.Skip("a number this large can make a string repeat allocate gigabytes: memory is not limited by the engine")
		}
		p, err := e.Compile("fuzz.star", src)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != "source" || ve.Reason == "" {
				t.Fatalf("Compile error %v is not a source ValidationError", err)
			}
			return
		}
		res := e.Run(context.Background(), p, in)
		if errors.Is(res.Err, ErrInternal) {
			t.Fatalf("internal error (a panic) on %q: %v", src, res.Err)
		}
		if res.Err != nil {
			if len(res.Actions) != 0 {
				t.Fatalf("failed run kept actions: %v", res.Actions)
			}
			return
		}
		if len(res.Actions) > DefaultMaxActions {
			t.Fatalf("%d actions", len(res.Actions))
		}
		for _, a := range res.Actions {
			if n, err := a.Normalize(); err != nil || !reflect.DeepEqual(n, a) {
				t.Fatalf("action %+v is not canonical: %v", a, err)
			}
		}
	})
}

// hugeLiteral reports a run of 6 or more digits.
func hugeLiteral(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if run++; run >= 6 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

type botFunc func(ctx context.Context, bot string, req BotRequest) ([]Action, error)

func (f botFunc) CallBot(ctx context.Context, bot string, req BotRequest) ([]Action, error) {
	return f(ctx, bot, req)
}

// BenchmarkRun is a typical run: the billing script on an inbound message,
// out of hours (so it builds and validates rich content).
func BenchmarkRun(b *testing.B) {
	e := &Engine{Timeout: testTimeout}
	p := compile(b, e, billingScript)
	in := messageInput(b, "about my invoice")
	in.Now = paris(b, "2026-03-23 20:00")
	b.ReportAllocs()
	for b.Loop() {
		if res := e.Run(context.Background(), p, in); res.Err != nil || len(res.Actions) != 2 {
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkRunCachedCalendar is BenchmarkRun with the business hours
// compiled once by the caller (Input.Calendar).
func BenchmarkRunCachedCalendar(b *testing.B) {
	e := &Engine{Timeout: testTimeout}
	p := compile(b, e, billingScript)
	in := messageInput(b, "about my invoice")
	in.Now = paris(b, "2026-03-23 20:00")
	in.Calendar, in.Hours = in.Hours.Calendar(), nil
	b.ReportAllocs()
	for b.Loop() {
		if res := e.Run(context.Background(), p, in); res.Err != nil || len(res.Actions) != 2 {
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkRunInHours is the common case: a skill set, nothing else.
func BenchmarkRunInHours(b *testing.B) {
	e := &Engine{Timeout: testTimeout}
	p := compile(b, e, billingScript)
	in := messageInput(b, "about my invoice")
	b.ReportAllocs()
	for b.Loop() {
		if res := e.Run(context.Background(), p, in); res.Err != nil || len(res.Actions) != 1 {
			b.Fatal(res.Err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	e := &Engine{Timeout: testTimeout}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.Compile("b.star", billingScript); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDocExamples runs the examples of docs/scripts.md.
func TestDocExamples(t *testing.T) {
	e := &Engine{Timeout: testTimeout}
	in := messageInput(t, "Free crypto giveaway!")
	in.Message.ChoiceOptionIDs = []string{"agent"}
	in.Event = EventCaseCreated
	in.Now = paris(t, "2026-03-27 19:00") // Friday evening
	examples := map[string][]Action{
		"if \"vip\" in case.tags or contact.fields.get(\"plan\") == \"gold\":\n    set_priority(80)\nif channel.type == \"whatsapp\":\n    add_tag(\"whatsapp\")\n": {
			{Type: ActionSetPriority, Priority: 80}, {Type: ActionAddTag, Tag: "whatsapp"}},
		"if message and \"crypto giveaway\" in message.text.lower():\n    stop(\"trash\")\n": {{Type: ActionStop, Stop: "trash"}},
		"if message and \"agent\" in message.choice_option_ids:\n    set_skill(\"support\")\n    set_priority(50)\n": {
			{Type: ActionSetSkill, Skill: "support"}, {Type: ActionSetPriority, Priority: 50}},
		"if event == \"case_created\" and not in_business_hours():\n    opens = next_open()\n    reply(\"Thanks! We are closed; we open again on %s at %s.\" % (opens.date, opens.time))\n": {
			{Type: ActionReply, Text: "Thanks! We are closed; we open again on 2026-03-30 at 09:00."}},
		"if not hand_to_bot(\"faq\"):\n    set_skill(\"support\")\n": {{Type: ActionSetSkill, Skill: "support"}},
	}
	for src, want := range examples {
		if res := mustRun(t, e, src, in); !reflect.DeepEqual(res.Actions, want) {
			t.Errorf("%s\nactions = %+v, want %+v", src, res.Actions, want)
		}
	}
}
