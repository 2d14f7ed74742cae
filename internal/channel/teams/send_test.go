package teams_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/teams"
	"github.com/parleyhq/parley/internal/channel/teams/fake"
	"github.com/parleyhq/parley/internal/content"
)

// render is what the core does for Teams: the content engine, then the
// adapter's native upgrade.
func render(t *testing.T, a *teams.Adapter, c content.Content) (content.Rendered, json.RawMessage) {
	t.Helper()
	base, err := content.Render(teams.Type, c, content.RenderOptions{Now: t0, MessageID: "msg1", Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	r := base
	if base.Native == nil && base.Type != "override" {
		if up, ok := a.RenderNative(c, base); ok {
			r = up
		}
	}
	b, _ := json.Marshal(r)
	return r, b
}

// inboundID is the platform id Parse gave the customer's last message.
func (e *env) inboundID(id string) string {
	return id + "|" + fake.ConversationID(megan.ID) + "|" + e.fk.ServiceURL()
}

// out is a reply on Megan's personal chat, after her message 1001.
func (e *env) out() *channel.OutboundMessage {
	e.fk.AddConversation(fake.ConversationID(megan.ID), megan.ID)
	return &channel.OutboundMessage{ID: "msg1", ThreadExternalID: fake.ConversationID(megan.ID), RecipientID: megan.ID, RecipientName: megan.Name,
		AuthorType: "agent", Attempt: 1, LastInboundAt: t0, LastInboundPlatformID: e.inboundID("1001"), ThreadPlatformIDs: []string{e.inboundID("1001")}}
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	colours := []content.Option{{ID: "RED", Label: "Red"}, {ID: "GREEN", Label: "Green"}, {ID: "BLUE", Label: "Blue"}}
	sizes := []content.Option{{ID: "xs", Label: "XS"}, {ID: "s", Label: "S"}, {ID: "m", Label: "M"}, {ID: "l", Label: "L"}, {ID: "xl", Label: "XL"}}
	slots := []content.TimeSlot{{ID: "slot-1", Start: "2026-11-24T09:00:00Z", DurationSec: 1800}, {ID: "slot-2", Start: "2026-11-24T14:00:00Z", DurationSec: 1800},
		{ID: "slot-3", Start: "2026-11-25T10:00:00Z", DurationSec: 3600}}
	for _, tc := range []struct {
		name    string
		content *content.Content
		edit    func(m *channel.OutboundMessage)
		rung    string
	}{
		{"text", nil, func(m *channel.OutboundMessage) { m.Text = "Hello Megan! How can I help?" }, ""},
		{"image", nil, func(m *channel.OutboundMessage) {
			m.Text = "Here is the photo and the invoice"
			m.Attachments = []channel.OutboundAttachment{{ID: "att1", Name: "photo.jpg", MimeType: "image/jpeg", Size: 52011, URL: "https://parley.example.com/files/att1?exp=1&sig=abc"},
				{ID: "att2", Name: "invoice.pdf", MimeType: "application/pdf", Size: 88123, URL: "https://parley.example.com/files/att2?exp=1&sig=def"}}
		}, ""},
		{"reply_to", nil, func(m *channel.OutboundMessage) {
			m.Text = "Yes, this one."
			m.ReplyToPlatformID = e.inboundID("1001")
		}, ""},
		{"quick_replies", &content.Content{Type: content.TypeQuickReplies, Text: "Pick a colour:", Options: colours}, nil, "teams.suggested_actions"},
		{"quick_replies_buttons", &content.Content{Type: content.TypeQuickReplies, Title: "Your size", Text: "Which size do you wear?", Options: sizes}, nil, "teams.adaptive_card.buttons"},
		{"list_picker", &content.Content{Type: content.TypeListPicker, Text: "Which toppings?", MultiSelect: true, Options: []content.Option{
			{ID: "ham", Label: "Ham", Description: "Smoked"}, {ID: "olives", Label: "Olives"}, {ID: "basil", Label: "Basil"}}}, nil, "teams.adaptive_card.list"},
		{"time_picker", &content.Content{Type: content.TypeTimePicker, Text: "Which time suits you?", Slots: slots, Timezone: "Europe/Paris",
			Location: &content.Location{Latitude: 48.8566, Longitude: 2.3522, Title: "Paris store", Address: "1 rue de Rivoli"}}, nil, "teams.adaptive_card.time_picker"},
		{"card", &content.Content{Type: content.TypeCard, Title: "Blue sneakers", Text: "Size 42, in stock",
			Media: &content.Media{URL: "https://shop.example.com/sneakers.jpg", MimeType: "image/jpeg"}, Link: &content.Link{URL: "https://shop.example.com/p/42"},
			Options: []content.Option{{ID: "buy", Label: "Buy"}, {ID: "site", Label: "See more", Kind: content.OptionURL, Postback: "https://shop.example.com/p/42"},
				{ID: "call", Label: "Call us", Kind: content.OptionCall, Postback: "+33123456789"}}}, nil, "teams.adaptive_card.card"},
		{"rich_link", &content.Content{Type: content.TypeRichLink, Text: "Our returns policy", Link: &content.Link{URL: "https://shop.example.com/returns",
			Title: "Returns in 30 days", ImageURL: "https://shop.example.com/returns.png"}}, nil, "teams.adaptive_card.rich_link"},
		{"carousel", &content.Content{Type: content.TypeCarousel, Text: "Two sizes:", Items: []content.Card{
			{Title: "Small", Subtitle: "€10", MediaURL: "https://shop.example.com/s.jpg", Actions: []content.Option{{ID: "s", Label: "Choose"}}},
			{Title: "Large", Subtitle: "€15", MediaURL: "https://shop.example.com/l.jpg", URL: "https://shop.example.com/l", Actions: []content.Option{{ID: "l", Label: "Choose"}}}}},
			nil, "teams.carousel"},
		{"adaptive_card", &content.Content{Type: content.TypeAdaptiveCard, FallbackText: "Rate us from 1 to 5",
			AdaptiveCard: json.RawMessage(`{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"Rate us"},{"type":"Input.Number","id":"rating","min":1,"max":5}],"actions":[{"type":"Action.Submit","title":"Send"}]}`)},
			nil, "teams.adaptive_card"},
		{"file_image", &content.Content{Type: content.TypeFile, Text: "The map", Media: &content.Media{URL: "https://shop.example.com/map.png", MimeType: "image/png", FileName: "map.png"}},
			nil, "teams.image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fk.Reset()
			m := e.out()
			if tc.content != nil {
				r, raw := render(t, e.a, *tc.content)
				if r.Type != tc.rung {
					t.Fatalf("rendered as %q, want %q", r.Type, tc.rung)
				}
				m.Content, _ = json.Marshal(tc.content)
				m.Rendered = raw
				m.Text = r.Text
			}
			if tc.edit != nil {
				tc.edit(m)
			}
			res, err := e.a.Send(context.Background(), e.poc, m)
			if err != nil {
				t.Fatal(err)
			}
			if res.PlatformMessageID != fake.ActivityID(1) {
				t.Errorf("platform id %q", res.PlatformMessageID)
			}
			reqs := e.fk.Requests()
			for _, r := range reqs {
				if r.Status != http.StatusCreated {
					t.Errorf("the fake refused: %d %s", r.Status, r.Response)
				}
			}
			golden(t, tc.name, reqs)
		})
	}
}

// Rendering keeps the engine's text and prompt, and every tap maps back to
// an id of the prompt with the label the customer saw.
func TestRenderRoundTrip(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name  string
		c     content.Content
		rung  string
		tap   func(native map[string]any) (choice, label string)
		reply string // the imBack text, for suggested actions
	}{
		{"suggested actions come back as the label", content.Content{Type: content.TypeQuickReplies, Text: "OK?", Options: []content.Option{{ID: "y", Label: "Yes"}, {ID: "n", Label: "No"}}},
			"teams.suggested_actions", nil, "No"},
		{"numeric labels use buttons", content.Content{Type: content.TypeQuickReplies, Text: "How many?", Options: []content.Option{{ID: "two", Label: "2"}, {ID: "one", Label: "1"}}},
			"teams.adaptive_card.buttons", buttonTap(0), ""},
		{"labels that fold alike use buttons", content.Content{Type: content.TypeQuickReplies, Text: "Which?", Options: []content.Option{{ID: "a", Label: "Next week"}, {ID: "b", Label: "next-week"}}},
			"teams.adaptive_card.buttons", buttonTap(1), ""},
		{"accented labels use buttons", content.Content{Type: content.TypeQuickReplies, Text: "Saison ?", Options: []content.Option{{ID: "e", Label: "Été"}, {ID: "h", Label: "Hiver"}}},
			"teams.adaptive_card.buttons", buttonTap(0), ""},
		{"many quick replies use a choice list", content.Content{Type: content.TypeQuickReplies, Text: "Rate us", Options: []content.Option{
			{ID: "r1", Label: "One"}, {ID: "r2", Label: "Two"}, {ID: "r3", Label: "Three"}, {ID: "r4", Label: "Four"}, {ID: "r5", Label: "Five"}, {ID: "r6", Label: "Six"}, {ID: "r7", Label: "Seven"}}},
			"teams.adaptive_card.choice_set", listTap("r6"), ""},
		{"list picker, multi-select", content.Content{Type: content.TypeListPicker, Text: "Which?", MultiSelect: true, Options: []content.Option{{ID: "a", Label: "Apples"}, {ID: "b", Label: "Pears"}, {ID: "c", Label: "Cherries"}}},
			"teams.adaptive_card.list", listTap("a,c"), ""},
		{"time picker buttons", content.Content{Type: content.TypeTimePicker, Text: "When?", Slots: []content.TimeSlot{{ID: "s1", Start: "2026-11-24T09:00:00Z", DurationSec: 1800}}},
			"teams.adaptive_card.time_picker", buttonTap(0), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := render(t, e.a, tc.c)
			base, _ := content.Render(teams.Type, tc.c, content.RenderOptions{Now: t0, MessageID: "msg1", Location: time.UTC})
			if r.Type != tc.rung || r.Text != base.Text || r.Prompt == nil {
				t.Fatalf("rendered %q (want %q), text kept %v, prompt %v", r.Type, tc.rung, r.Text == base.Text, r.Prompt)
			}
			var native map[string]any
			if err := json.Unmarshal(r.Native, &native); err != nil {
				t.Fatal(err)
			}
			act := e.fk.Text(megan, "3001", tc.reply, t0)
			if tc.tap != nil {
				choice, label := tc.tap(native)
				act = e.fk.SubmitValue(megan, "3001", map[string]any{"parley_choice": choice, "parley_labels": labelsOf(native), "parley_label": label}, t0)
				if label == "" {
					delete(act["value"].(map[string]any), "parley_label")
				}
			}
			evs, err := e.receive(t, act, fake.TokenOptions{})
			if err != nil || len(evs) != 1 {
				t.Fatal(evs, err)
			}
			out := content.Resolve(r.Prompt, content.Reply{Text: evs[0].Text, NativeID: evs[0].ChoiceID}, t0)
			if out.Choice == nil {
				t.Fatalf("no choice from %+v", evs[0])
			}
			want := content.SourceNative
			if tc.tap == nil {
				want = content.SourceLabel
			}
			if out.Choice.Source != want || evs[0].Text == "" {
				t.Fatalf("choice %+v from %+v", out.Choice, evs[0])
			}
		})
	}
}

// buttonTap is a tap on the i-th Action.Submit of the card: its data.
func buttonTap(i int) func(map[string]any) (string, string) {
	return func(native map[string]any) (string, string) {
		card := native["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)
		data := card["actions"].([]any)[i].(map[string]any)["data"].(map[string]any)
		return data["parley_choice"].(string), data["parley_label"].(string)
	}
}

// listTap submits a choice list with these ids selected.
func listTap(ids string) func(map[string]any) (string, string) {
	return func(map[string]any) (string, string) { return ids, "" }
}

func labelsOf(native map[string]any) map[string]any {
	atts, _ := native["attachments"].([]any)
	if len(atts) == 0 {
		return nil
	}
	card := atts[0].(map[string]any)["content"].(map[string]any)
	for _, a := range card["actions"].([]any) {
		if data, ok := a.(map[string]any)["data"].(map[string]any); ok {
			if l, ok := data["parley_labels"].(map[string]any); ok {
				return l
			}
		}
	}
	return nil
}

// The serviceUrl survives a restart in the platform ids, follows the
// latest inbound message, and never leaves the allow-list.
func TestServiceURL(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var leaked atomic.Int32
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Add(1)
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"stolen"}`))
	}))
	defer attacker.Close()
	conv := fake.ConversationID(megan.ID)
	send := func(m *channel.OutboundMessage) error {
		m.Text = "hello"
		_, err := e.a.Send(ctx, e.poc, m)
		return err
	}

	// After a restart: from the last inbound message's id.
	e.restart()
	if err := send(e.out()); err != nil {
		t.Fatal(err)
	}
	// From an older message of the thread when the last one has none.
	m := e.out()
	m.LastInboundPlatformID = ""
	m.ThreadPlatformIDs = []string{e.inboundID("0999"), "1:fakeActivity000001"}
	if err := send(m); err != nil {
		t.Fatal(err)
	}
	// From this process's memory of the conversation (Parse saw it).
	if _, err := e.receive(t, e.fk.Text(megan, "1002", "hi", t0), fake.TokenOptions{}); err != nil {
		t.Fatal(err)
	}
	m = e.out()
	m.LastInboundPlatformID, m.ThreadPlatformIDs = "", nil
	if err := send(m); err != nil {
		t.Fatal(err)
	}
	// Nowhere to be found: a clear, permanent error.
	e.restart()
	err := send(m)
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != teams.CodeNoServiceURL {
		t.Fatalf("got %v", err)
	}
	// The latest serviceUrl wins: a moved conversation, now off the
	// allow-list, is refused, and its host never sees the token.
	m = e.out()
	m.LastInboundPlatformID = "1003|" + conv + "|" + attacker.URL + "/amer/"
	tokens := e.fk.TokenRequests()
	err = send(m)
	if !errors.As(err, &se) || se.Retryable || se.Code != teams.CodeServiceURLNotAllowed || !strings.Contains(se.Reason, attacker.URL) {
		t.Fatalf("got %v", err)
	}
	if leaked.Load() != 0 || e.fk.TokenRequests() != tokens {
		t.Fatalf("%d requests reached the other host; %d token requests", leaked.Load(), e.fk.TokenRequests()-tokens)
	}
	// Another conversation's id says nothing about this one.
	m = e.out()
	m.LastInboundPlatformID = "1003|a:other|" + e.fk.ServiceURL()
	m.ThreadPlatformIDs = nil
	if err := send(m); !errors.As(err, &se) || se.Code != teams.CodeNoServiceURL {
		t.Fatalf("got %v", err)
	}
	if got := len(e.fk.Messages()); got != 3 {
		t.Fatalf("%d messages delivered, want 3", got)
	}
}

// The default allow-list is Microsoft's own hosts, not look-alikes.
func TestDefaultAllowList(t *testing.T) {
	e := newEnv(t)
	settings := e.fk.Settings()
	delete(settings, "service_url_allowlist")
	poc := e.pocs.mustCreate(settings, e.fk.Credentials())
	for su, ok := range map[string]bool{
		"https://smba.trafficmanager.net/amer/":             true,
		"https://smba.trafficmanager.net/teams/":            true,
		"https://smba.infra.gcc.teams.microsoft.com/teams/": true,
		"https://webchat.botframework.com/":                 true,
		"https://evil.trafficmanager.net/amer/":             false,
		"https://smba.evil.example/amer/":                   false,
		"http://smba.trafficmanager.net/amer/":              false,
		"https://smba.trafficmanager.net:8443/amer/":        false,
		"https://botframework.com.evil.example/":            false,
		e.fk.ServiceURL():                                   false,
	} {
		m := e.out()
		m.Text = "hi"
		m.LastInboundPlatformID = "1|" + m.ThreadExternalID + "|" + su
		m.ThreadPlatformIDs = nil
		// Allowed hosts are Microsoft's, unreachable from the test: the
		// send fails later, but not on the allow-list.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := e.a.Send(ctx, poc, m)
		var se *channel.SendError
		refused := errors.As(err, &se) && se.Code == teams.CodeServiceURLNotAllowed
		if refused == ok {
			t.Errorf("%s: allowed %v, got %v", su, ok, err)
		}
	}
}

func TestTokenCaching(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	send := func() {
		t.Helper()
		m := e.out()
		m.Text = "hello"
		if _, err := e.a.Send(ctx, e.poc, m); err != nil {
			t.Fatal(err)
		}
	}
	send()
	send()
	if n := e.fk.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 2 sends, want 1", n)
	}
	// Expires in 3599 s: kept until 5 minutes before.
	e.clock.Add(54 * time.Minute)
	send()
	if n := e.fk.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests at 54 min, want 1", n)
	}
	e.clock.Add(2 * time.Minute)
	send()
	if n := e.fk.TokenRequests(); n != 2 {
		t.Fatalf("%d token requests at 56 min, want 2", n)
	}
	// A token the Bot Connector refuses is dropped: the next send asks anew.
	e.fk.FailNext(fake.Unauthorized())
	m := e.out()
	m.Text = "hello"
	if _, err := e.a.Send(ctx, e.poc, m); err == nil {
		t.Fatal("401 accepted")
	}
	send()
	if n := e.fk.TokenRequests(); n != 3 {
		t.Fatalf("%d token requests after a 401, want 3", n)
	}
	// Every request carried a token the fake issued.
	for _, r := range e.fk.Requests() {
		if !strings.HasPrefix(r.Authorization, "Bearer fake-bf-") {
			t.Fatalf("authorization %q", r.Authorization)
		}
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name        string
		fail        func()
		retryable   bool
		unreachable bool
		code        string
		reason      string
		retryAfter  time.Duration
	}{
		{"429 with Retry-After", func() { e.fk.FailNext(fake.Throttled("7")) }, true, false, "Throttled", "Too many requests", 7 * time.Second},
		{"502", func() { e.fk.FailNext(fake.ServiceError()) }, true, false, "ServiceError", "Unknown error", 0},
		{"412 conflict", func() {
			e.fk.FailNext(fake.Failure{Status: 412, Code: "PreconditionFailed", Message: "A potential conflict occurred."})
		}, true, false, "PreconditionFailed", "conflict", 0},
		{"connection dropped", func() { e.fk.FailNext(fake.Failure{}) }, true, false, "", "unreachable", 0},
		{"conversation gone", func() { e.fk.FailNext(fake.ConversationNotFound()) }, false, true, "ConversationNotFound", "Conversation not found", 0},
		{"blocked by the user", func() { e.fk.FailNext(fake.BlockedByUser()) }, false, true, "ConversationBlockedByUser", "blocked", 0},
		{"disabled by the admin", func() { e.fk.FailNext(fake.BotDisabledByAdmin()) }, false, false, "BotDisabledByAdmin", "disabled", 0},
		{"refused activity", func() { e.fk.FailNext(fake.BadArgument("Unknown activity type")) }, false, false, "BadArgument", "Unknown activity type", 0},
		{"token refused", func() { e.fk.FailNext(fake.Unauthorized()) }, false, false, "401", "Authorization has been denied", 0},
		{"wrong client secret", func() { e.fk.FailNextToken(fake.InvalidClient()) }, false, false, "token:invalid_client", "AADSTS7000215", 0},
		{"token endpoint throttled", func() {
			e.fk.FailNextToken(fake.Failure{Status: 429, Code: "temporarily_unavailable", Message: "AADSTS50196: loop", RetryAfter: "30"})
		}, true, false, "token:temporarily_unavailable", "AADSTS50196", 30 * time.Second},
		{"token endpoint down", func() {
			e.fk.FailNextToken(fake.Failure{Status: 503, Code: "temporarily_unavailable", Message: "down"})
		}, true, false, "token:temporarily_unavailable", "down", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.restart() // no cached token: the token endpoint is asked each time
			e.fk.Reset()
			tc.fail()
			m := e.out()
			m.Text = "hello"
			_, err := e.a.Send(ctx, e.poc, m)
			var se *channel.SendError
			if !errors.As(err, &se) {
				t.Fatalf("got %v", err)
			}
			if se.Retryable != tc.retryable || se.Unreachable != tc.unreachable || se.Code != tc.code || !strings.Contains(se.Reason, tc.reason) || se.RetryAfter != tc.retryAfter {
				t.Fatalf("got %+v", se)
			}
			// Then Microsoft recovers: the retry is delivered once.
			res, err := e.a.Send(ctx, e.poc, m)
			if err != nil || res.PlatformMessageID != fake.ActivityID(1) || len(e.fk.Messages()) != 1 {
				t.Fatalf("retry: %v %v %d", res, err, len(e.fk.Messages()))
			}
		})
	}
	// The fake checks the secret for real, too.
	settings, creds := e.fk.Settings(), e.fk.Credentials()
	creds["app_password"] = "not-the-secret"
	wrong := e.pocs.mustCreate(settings, creds)
	m := e.out()
	m.Text = "hello"
	_, err := e.a.Send(ctx, wrong, m)
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != "token:invalid_client" {
		t.Fatalf("wrong secret: %v", err)
	}
	// And the conversation: one it never heard of is not found.
	m = e.out()
	m.Text = "hello"
	m.ThreadExternalID = "a:never-seen"
	m.LastInboundPlatformID = "1|a:never-seen|" + e.fk.ServiceURL()
	if _, err := e.a.Send(ctx, e.poc, m); !errors.As(err, &se) || !se.Unreachable || se.Code != "ConversationNotFound" {
		t.Fatalf("unknown conversation: %v", err)
	}
}

func TestSendRefusesBeforeSending(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, m := range map[string]*channel.OutboundMessage{
		"template":        {Template: &channel.TemplateMessage{Name: "x"}},
		"no conversation": {},
		"empty":           {},
		"no file URL":     {Attachments: []channel.OutboundAttachment{{Name: "a.png", MimeType: "image/png"}}},
		"bad rendered":    {Rendered: json.RawMessage(`{"type":"teams.x","native":[1]}`)},
	} {
		full := e.out()
		full.Template, full.Attachments, full.Rendered = m.Template, m.Attachments, m.Rendered
		if name == "no conversation" {
			full.ThreadExternalID = ""
			full.Text = "hi"
		}
		_, err := e.a.Send(ctx, e.poc, full)
		var se *channel.SendError
		if !errors.As(err, &se) || se.Retryable {
			t.Errorf("%s: got %v", name, err)
		}
	}
	if n := len(e.fk.Requests()); n != 0 {
		t.Fatalf("%d requests reached the Bot Connector", n)
	}
}

func TestTyping(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	conv := fake.ConversationID(megan.ID)
	e.fk.AddConversation(conv, megan.ID)
	// A fresh process knows no serviceUrl: typing does nothing.
	if err := e.a.Typing(ctx, e.poc, conv, megan.ID, true); err != nil {
		t.Fatal(err)
	}
	if n := len(e.fk.Requests()); n != 0 {
		t.Fatalf("%d requests", n)
	}
	// The core marks the last message read first: its id carries the
	// serviceUrl. Typing off sends nothing.
	if err := e.a.MarkRead(ctx, e.poc, e.inboundID("1001")); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Typing(ctx, e.poc, conv, megan.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Typing(ctx, e.poc, conv, megan.ID, false); err != nil {
		t.Fatal(err)
	}
	reqs := e.fk.Requests()
	if len(reqs) != 1 || reqs[0].Status != http.StatusOK || reqs[0].JSON()["type"] != "typing" || reqs[0].Conversation != conv {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestPolicies(t *testing.T) {
	a := teams.New(nil, nil)
	if a.Type() != "teams" || a.Proactive() != channel.ProactiveNever || a.MaxAttachments() != 10 {
		t.Fatal("policies")
	}
	if r := a.RateLimit(); r.PerSecond != 50 || r.Burst < 1 {
		t.Fatalf("rate %+v", r)
	}
}

// The sandbox's view: what a customer received, by user or conversation.
func TestFakeReceived(t *testing.T) {
	e := newEnv(t)
	m := e.out()
	m.Text = "hello"
	if _, err := e.a.Send(context.Background(), e.poc, m); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{megan.ID, fake.ConversationID(megan.ID)} {
		got := e.fk.Received(to)
		if len(got) != 1 || !strings.Contains(string(got[0]), `"text":"hello"`) {
			t.Fatalf("received(%s): %s", to, got)
		}
	}
	if got := e.fk.Received("29:someone-else"); len(got) != 0 {
		t.Fatalf("someone else received %s", got)
	}
}
