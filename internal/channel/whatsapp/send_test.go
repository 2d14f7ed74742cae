package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp/fake"
	"github.com/parleyhq/parley/internal/content"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// golden compares the JSON bodies the fake received with a golden file
// (keys sorted, indented).
func golden(t *testing.T, name string, reqs []fake.Request) {
	t.Helper()
	bodies := []any{}
	for _, r := range reqs {
		var v any
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("body is not JSON: %s", r.Body)
		}
		bodies = append(bodies, v)
	}
	got, _ := json.MarshalIndent(bodies, "", "  ")
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run with -update to accept):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func render(t *testing.T, c content.Content) json.RawMessage {
	t.Helper()
	r, err := content.Render(Type, c, content.RenderOptions{MessageID: "msg-1"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func orderTemplate() (fake.Template, []string) {
	return fake.Template{Name: "order_shipped", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Components: json.RawMessage(`[
		{"type":"HEADER","format":"IMAGE","example":{"header_handle":["https://scontent.example/h"]}},
		{"type":"BODY","text":"Hi {{1}}, your order {{2}} has shipped.","example":{"body_text":[["Ana","A-123"]]}},
		{"type":"FOOTER","text":"Reply STOP to opt out"},
		{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Stop promotions"},{"type":"URL","text":"Track","url":"https://shop.example/track/{{1}}","example":["https://shop.example/track/A-123"]}]}]`)},
		[]string{"https://cdn.example/box.jpg", "Ana", "A-123", "A-123"}
}

func TestSendGolden(t *testing.T) {
	e := newEnv(t)
	options := func(n int) []content.Option {
		var out []content.Option
		for i := 1; i <= n; i++ {
			out = append(out, content.Option{ID: "dish_" + string(rune('0'+i%10)), Label: []string{"", "Margherita", "Marinara", "Quattro formaggi", "Diavola", "Capricciosa",
				"Napoli", "Funghi", "Prosciutto", "Vegetariana", "Calzone"}[i], Description: "30 cm"})
		}
		return out
	}
	tmpl, values := orderTemplate()
	stored := channel.Template{Name: tmpl.Name, Language: tmpl.Language, Status: "approved", Components: tmpl.Components, Parameters: Parameters(tmpl.Components)}
	cases := []struct {
		name  string
		msg   channel.OutboundMessage
		parts int
	}{
		{"text", channel.OutboundMessage{Text: "Hello Ana, how can we help?"}, 1},
		{"image_link", channel.OutboundMessage{Text: "Here is the photo", Attachments: []channel.OutboundAttachment{
			{ID: "att1", Name: "photo.jpg", MimeType: "image/jpeg", URL: "https://files.example/a/photo.jpg?sig=abc"}}}, 1},
		{"document", channel.OutboundMessage{Attachments: []channel.OutboundAttachment{
			{ID: "att2", Name: "invoice-2026-11.pdf", MimeType: "application/pdf", URL: "https://files.example/a/invoice.pdf?sig=def"}}}, 1},
		{"text_then_attachments", channel.OutboundMessage{Text: "Two files for you", Attachments: []channel.OutboundAttachment{
			{Name: "a.png", MimeType: "image/png", URL: "https://files.example/a.png"},
			{Name: "b.zip", MimeType: "application/zip", URL: "https://files.example/b.zip"}}}, 3},
		{"buttons", channel.OutboundMessage{Text: "Did that solve it?", Rendered: render(t, content.Content{Type: content.TypeQuickReplies,
			Title: "Support", Text: "Did that solve it?", Options: []content.Option{{ID: "yes", Label: "Yes"}, {ID: "no", Label: "No"}, {ID: "agent", Label: "Talk to a person"}}})}, 1},
		{"list", channel.OutboundMessage{Text: "Pick a pizza", Rendered: render(t, content.Content{Type: content.TypeListPicker,
			Title: "Menu", Text: "Pick a pizza", Options: options(10)})}, 1},
		{"template", channel.OutboundMessage{Template: &channel.TemplateMessage{Name: tmpl.Name, Language: tmpl.Language, Parameters: values, Template: stored}}, 1},
		{"quoted_reply", channel.OutboundMessage{Text: "Yes, that one.", ReplyToPlatformID: "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQzQUQ"}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.fk.Reset()
			msg := c.msg
			msg.ID, msg.RecipientID = "msg-1", ana.WaID
			msg.LastInboundAt = e.clock.Now().Add(-time.Hour)
			res, err := e.a.Send(context.Background(), e.poc, &msg)
			if err != nil {
				t.Fatal(err)
			}
			sent := e.fk.Messages()
			if len(sent) != c.parts || len(e.fk.Requests()) != c.parts {
				t.Fatalf("%d messages accepted, %d requests, want %d: %+v", len(sent), len(e.fk.Requests()), c.parts, e.fk.Requests())
			}
			if res.PlatformMessageID != sent[0].MessageID {
				t.Fatalf("result %q, want the first message's id %q", res.PlatformMessageID, sent[0].MessageID)
			}
			for _, r := range sent {
				if r.Authorization != "Bearer "+testToken || r.Path != "/v25.0/"+fake.DefaultPhoneNumberID+"/messages" {
					t.Fatalf("%s %s", r.Authorization, r.Path)
				}
			}
			golden(t, c.name, sent)
		})
	}
}

func TestTemplateParameters(t *testing.T) {
	tmpl, _ := orderTemplate()
	want := []channel.TemplateParameter{{Component: "header", Index: 1, Type: "image"}, {Component: "body", Index: 1, Type: "text"},
		{Component: "body", Index: 2, Type: "text"}, {Component: "button", Index: 2, Type: "text"}}
	if got := Parameters(tmpl.Components); !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v", got)
	}
	named := json.RawMessage(`[{"type":"BODY","text":"Dear {{first_name}}, {{first_name}} your code is {{code}}"},{"type":"HEADER","format":"TEXT","text":"Order {{1}}"}]`)
	got := Parameters(named)
	want = []channel.TemplateParameter{{Component: "header", Index: 1, Type: "text"}, {Component: "body", Index: 1, Type: "text"}, {Component: "body", Index: 2, Type: "text"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%+v", got)
	}
	p, err := templatePayload(&channel.TemplateMessage{Name: "n", Language: "en", Parameters: []string{"7", "Ana", "X1"},
		Template: channel.Template{Components: named, Parameters: got}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(p)
	if !strings.Contains(string(b), `{"parameter_name":"first_name","text":"Ana","type":"text"}`) || !strings.Contains(string(b), `{"parameter_name":"code","text":"X1","type":"text"}`) {
		t.Fatalf("%s", b)
	}
}

func TestSendErrors(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	msg := func() *channel.OutboundMessage {
		return &channel.OutboundMessage{ID: "m", RecipientID: ana.WaID, Text: "hi", LastInboundAt: e.clock.Now().Add(-time.Hour)}
	}
	// 429 with Retry-After, then delivered once.
	e.fk.FailNext(fake.RateLimited("7"))
	_, err := e.a.Send(ctx, e.poc, msg())
	var se *channel.SendError
	if !errors.As(err, &se) || !se.Retryable || se.RetryAfter != 7*time.Second || se.Code != "130429" {
		t.Fatalf("429: %#v", err)
	}
	if _, err := e.a.Send(ctx, e.poc, msg()); err != nil || len(e.fk.Messages()) != 1 {
		t.Fatalf("retry: %v, %d accepted", err, len(e.fk.Messages()))
	}
	// 131047: permanent, with the platform's code and text.
	e.fk.FailNext(fake.ReEngagement())
	_, err = e.a.Send(ctx, e.poc, msg())
	if !errors.As(err, &se) || se.Retryable || se.Code != "131047" || !strings.Contains(se.Reason, "Re-engagement message") || !strings.Contains(se.Reason, "24 hours") {
		t.Fatalf("131047: %#v", err)
	}
	// 5xx and a dropped connection: retryable.
	e.fk.FailNext(fake.ServerError(), fake.Failure{Drop: true})
	for i := 0; i < 2; i++ {
		if _, err := e.a.Send(ctx, e.poc, msg()); !errors.As(err, &se) || !se.Retryable {
			t.Fatalf("transient %d: %#v", i, err)
		}
	}
	// A number the platform does not know: error 100, permanent.
	bad := *e.poc
	bad.Settings = map[string]any{SettingPhoneNumberID: "123", SettingAPIBaseURL: e.fk.URL}
	if _, err := e.a.Send(ctx, &bad, msg()); !errors.As(err, &se) || se.Retryable || !strings.HasPrefix(se.Code, "100") {
		t.Fatalf("unknown number: %#v", err)
	}
	// A later part failing: permanent (a retry would send the first twice),
	// saying what went out.
	e.fk.FailNext(fake.Failure{Endpoint: "messages", After: 1, Status: 400, Code: 131053, Message: "Media upload error"})
	m := msg()
	m.Attachments = []channel.OutboundAttachment{{Name: "a.png", MimeType: "image/png", URL: "https://files.example/a.png"}, {Name: "b.pdf", MimeType: "application/pdf", URL: "https://files.example/b.pdf"}}
	_, err = e.a.Send(ctx, e.poc, m)
	if !errors.As(err, &se) || se.Retryable || se.Code != "131053" || !strings.Contains(se.Reason, "part 2 of 3") {
		t.Fatalf("partial: %#v", err)
	}
}

func TestSendWindow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	now := e.clock.Now()
	send := func(last time.Time, tm *channel.TemplateMessage) error {
		_, err := e.a.Send(ctx, e.poc, &channel.OutboundMessage{ID: "m", RecipientID: ana.WaID, Text: "hi", LastInboundAt: last, Template: tm})
		return err
	}
	if err := send(now.Add(-23*time.Hour-59*time.Minute), nil); err != nil {
		t.Fatalf("23h59: %v", err)
	}
	err := send(now.Add(-24*time.Hour-time.Minute), nil)
	var se *channel.SendError
	if !errors.As(err, &se) || se.Retryable || se.Code != "131047" || !strings.Contains(se.Reason, "24-hour") {
		t.Fatalf("24h01: %#v", err)
	}
	if n := len(e.fk.Requests()); n != 1 {
		t.Fatalf("the refused send reached the platform: %d requests", n)
	}
	tmpl, values := orderTemplate()
	stored := channel.Template{Name: tmpl.Name, Language: tmpl.Language, Components: tmpl.Components, Parameters: Parameters(tmpl.Components)}
	if err := send(now.Add(-72*time.Hour), &channel.TemplateMessage{Name: tmpl.Name, Language: tmpl.Language, Parameters: values, Template: stored}); err != nil {
		t.Fatalf("template after the window: %v", err)
	}
	w := e.a.Window(now)
	if !w.FreeUntil.Equal(now.Add(24*time.Hour)) || !w.TemplatesAfter || !w.HumanAgentUntil.IsZero() {
		t.Fatalf("%+v", w)
	}
	if w := e.a.Window(time.Time{}); w.FreeUntil.IsZero() || w.FreeUntil.After(now) {
		t.Fatalf("never wrote: %+v", w)
	}
	if e.a.Proactive() != channel.ProactiveTemplatesOnly {
		t.Fatal("proactive")
	}
}

func TestSyncTemplatesPaging(t *testing.T) {
	e := newEnv(t) // the fake serves pages of 2
	tmpl, _ := orderTemplate()
	e.fk.AddTemplate(tmpl,
		fake.Template{Name: "hello_world", Language: "en_US", Category: "UTILITY", Status: "APPROVED", Components: json.RawMessage(`[{"type":"BODY","text":"Hello World"}]`)},
		fake.Template{Name: "promo", Language: "fr", Category: "MARKETING", Status: "PENDING", Components: json.RawMessage(`[{"type":"BODY","text":"{{1}} % off"}]`)},
		fake.Template{Name: "promo", Language: "en", Category: "MARKETING", Status: "REJECTED"},
		fake.Template{Name: "otp", Language: "en", Category: "AUTHENTICATION", Status: "APPROVED", Components: json.RawMessage(`[{"type":"BODY","text":"*{{1}}* is your code."},{"type":"BUTTONS","buttons":[{"type":"URL","text":"Copy","url":"https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code=otp{{1}}"}]}]`)},
	)
	got, err := e.a.SyncTemplates(context.Background(), e.poc)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, x := range got {
		names = append(names, x.Name+"/"+x.Language+"/"+x.Status+"/"+x.Category)
	}
	want := []string{"order_shipped/en_US/approved/UTILITY", "hello_world/en_US/approved/UTILITY", "promo/fr/pending/MARKETING",
		"promo/en/rejected/MARKETING", "otp/en/approved/AUTHENTICATION"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("%v", names)
	}
	if len(got[0].Parameters) != 4 || len(got[1].Parameters) != 0 || len(got[4].Parameters) != 2 || string(got[3].Components) != "[]" {
		t.Fatalf("%+v", got)
	}
	reqs := e.fk.Requests()
	if len(reqs) != 3 || reqs[0].Query.Get("limit") != "100" || reqs[0].Path != "/v25.0/"+fake.DefaultWABAID+"/message_templates" || reqs[2].Query.Get("after") == "" {
		t.Fatalf("%+v", reqs)
	}
	e.fk.FailNext(fake.Failure{Endpoint: "templates", Status: 400, Code: 200, Message: "(#200) Permissions error"})
	if _, err := e.a.SyncTemplates(context.Background(), e.poc); err == nil || !strings.Contains(err.Error(), "Permissions error") {
		t.Fatalf("%v", err)
	}
}

func TestFetchMedia(t *testing.T) {
	e := newEnv(t)
	data := []byte("\xff\xd8\xff\xe0 a jpeg")
	e.fk.AddMedia("1037543291543636", "image/jpeg", data)
	body, mimeType, err := e.a.FetchMedia(context.Background(), e.poc, "1037543291543636")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, data) || mimeType != "image/jpeg" {
		t.Fatalf("%q %q", got, mimeType)
	}
	reqs := e.fk.Requests()
	if len(reqs) != 2 || reqs[0].Endpoint != "media" || reqs[1].Endpoint != "download" || reqs[0].Authorization != "Bearer "+testToken || reqs[1].Authorization != "Bearer "+testToken {
		t.Fatalf("%+v", reqs)
	}
	if _, _, err := e.a.FetchMedia(context.Background(), e.poc, "404404"); err == nil {
		t.Fatal("unknown media fetched")
	}
	if _, _, err := e.a.FetchMedia(context.Background(), e.poc, "../x"); err == nil {
		t.Fatal("bad media id used")
	}
}

func TestMarkReadAndTyping(t *testing.T) {
	e := newEnv(t)
	if err := e.a.MarkRead(context.Background(), e.poc, "wamid.IN"); err != nil {
		t.Fatal(err)
	}
	if err := e.a.Typing(context.Background(), e.poc, ana.WaID, ana.WaID, true); err != nil {
		t.Fatal(err)
	}
	reqs := e.fk.Requests()
	if len(reqs) != 1 || reqs[0].Endpoint != "read" || reqs[0].Status != 200 {
		t.Fatalf("%+v", reqs)
	}
	var body map[string]any
	_ = json.Unmarshal(reqs[0].Body, &body)
	if !reflect.DeepEqual(body, map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.IN"}) {
		t.Fatalf("%v", body)
	}
}

func TestConfigure(t *testing.T) {
	a := New(nil, nil)
	good := func() *channel.Config {
		return &channel.Config{Creating: true, Settings: map[string]any{SettingPhoneNumberID: 106540352242922.0, SettingWABAID: "102290129340398"},
			Credentials: map[string]string{CredentialAccessToken: "t", CredentialAppSecret: "s"}, Generated: map[string]string{}}
	}
	cfg := good()
	if err := a.Configure(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Settings[SettingPhoneNumberID] != "106540352242922" || !strings.HasPrefix(cfg.Credentials[CredentialVerifyToken], "wavt_") ||
		cfg.Generated[CredentialVerifyToken] != cfg.Credentials[CredentialVerifyToken] {
		t.Fatalf("%+v", cfg)
	}
	cfg = good()
	cfg.Credentials[CredentialVerifyToken] = "mine"
	if err := a.Configure(context.Background(), cfg); err != nil || cfg.Credentials[CredentialVerifyToken] != "mine" || len(cfg.Generated) != 0 {
		t.Fatalf("given verify token: %v %+v", err, cfg)
	}
	for field, change := range map[string]func(*channel.Config){
		"settings.phone_number_id": func(c *channel.Config) { delete(c.Settings, SettingPhoneNumberID) },
		"settings.waba_id":         func(c *channel.Config) { c.Settings[SettingWABAID] = "a/b" },
		"settings.api_base_url":    func(c *channel.Config) { c.Settings[SettingAPIBaseURL] = "ftp://x" },
		"settings.page_id":         func(c *channel.Config) { c.Settings["page_id"] = "1" },
		"credentials.access_token": func(c *channel.Config) { delete(c.Credentials, CredentialAccessToken) },
		"credentials.app_secret":   func(c *channel.Config) { c.Credentials[CredentialAppSecret] = " " },
		"credentials.verify_token": func(c *channel.Config) { c.Creating = false },
		"credentials.page_token":   func(c *channel.Config) { c.Credentials["page_token"] = "x" },
		"settings.display_phone_number": func(c *channel.Config) {
			c.Settings[SettingDisplayPhoneNumber] = strings.Repeat("1", 40)
		},
	} {
		cfg := good()
		change(cfg)
		err := a.Configure(context.Background(), cfg)
		var ve *channel.ValidationError
		if !errors.As(err, &ve) || ve.Field != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}
