package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/messenger"
	mfake "github.com/parleyhq/parley/internal/channel/messenger/fake"
	"github.com/parleyhq/parley/internal/secret"
)

// The sandbox (with --demo) runs each platform's local fake inside Parley,
// wires a demo point of contact to it, and lets a newcomer play the
// customer: POST /sandbox/{channel}/customer makes the fake platform deliver
// a signed webhook exactly as the real one would, and GET
// /sandbox/{channel}/phone shows what the customer has received. No
// platform account is needed; nothing leaves the machine. `parley sandbox`
// is the command-line face of the same endpoints.

// sandboxPlatform is one fake platform in the sandbox.
type sandboxPlatform interface {
	// deliver makes the platform send a customer's message to Parley as it
	// would for real (a choiceID is a tap on a button or row), returning
	// Parley's answer status.
	deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error)
	// received lists what the platform was asked to send to a customer.
	received(to string) []json.RawMessage
	close() error
}

type sandboxPoint struct {
	platform  sandboxPlatform
	pocID     string
	appSecret string
}

type sandbox struct {
	mu     sync.Mutex
	points map[string]*sandboxPoint // channel type → its demo point of contact
	seq    int
}

// metaSandbox is the Messenger/Instagram fake Send API.
type metaSandbox struct {
	graph     *mfake.Server
	instagram bool
	accountID string
}

func (m *metaSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	mid := fmt.Sprintf("m_sandbox_%d", at.UnixNano())
	item := mfake.Text(from, mid, text, at)
	if choiceID != "" {
		item = mfake.QuickReply(from, mid, text, choiceID, at)
	}
	payload := mfake.PagePayload(m.accountID, item)
	if m.instagram {
		payload = mfake.InstagramPayload(m.accountID, item)
	}
	return postSigned(webhookURL, secret, payload)
}

// postSigned delivers a Meta-style webhook signed with X-Hub-Signature-256.
func postSigned(webhookURL, secret string, payload []byte) (int, string, error) {
	resp, err := mfake.SendWebhook(webhookURL, secret, payload)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

func (m *metaSandbox) received(to string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range m.graph.Sent() {
		var body struct {
			Recipient struct{ ID string } `json:"recipient"`
		}
		if json.Unmarshal(r.Body, &body) == nil && body.Recipient.ID == to && r.AccountID == m.accountID {
			out = append(out, r.Body)
		}
	}
	return out
}

func (m *metaSandbox) close() error { return nil } // the shared server is closed once

// startSandbox starts the fake platforms and creates their demo points of
// contact (only on a database without points of contact of those types).
func (a *App) startSandbox(ctx context.Context, workspaceID, adminID string) error {
	a.sandbox = &sandbox{points: map[string]*sandboxPoint{}}
	graph, err := mfake.Start(mfake.Options{Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, graph.Close)
	existing, err := a.Points.List(ctx, workspaceID)
	if err != nil {
		return err
	}
	have := map[string]channel.PointOfContact{}
	for _, p := range existing {
		have[p.Type] = p
	}
	add := func(typ, name string, settings map[string]any, creds map[string]string, platform sandboxPlatform) error {
		if p, ok := have[typ]; ok {
			// A restart of the demo: point the existing one at this run's
			// fake, with this run's credentials.
			up, err := a.Points.Update(ctx, workspaceID, adminID, p.ID, channel.Patch{Settings: settings, Credentials: creds})
			if err != nil {
				return err
			}
			a.sandbox.points[typ] = &sandboxPoint{platform: platform, pocID: up.ID, appSecret: signingSecret(up.Credential)}
			return nil
		}
		p, _, err := a.Points.Create(ctx, workspaceID, adminID, channel.NewPointOfContact{Type: typ, Name: name, Settings: settings, Credentials: creds})
		if err != nil {
			return fmt.Errorf("sandbox %s: %w", typ, err)
		}
		a.sandbox.points[typ] = &sandboxPoint{platform: platform, pocID: p.ID, appSecret: signingSecret(func(k string) string { return creds[k] })}
		return nil
	}
	if err := add(messenger.Type, "Demo Messenger (sandbox)", map[string]any{"page_id": "100000000000001", "api_base_url": graph.URL},
		map[string]string{"page_access_token": secret.RandomToken("sandbox_"), "app_secret": secret.RandomToken("sandbox_")},
		&metaSandbox{graph: graph, accountID: "100000000000001"}); err != nil {
		return err
	}
	if err := add("instagram_direct", "Demo Instagram (sandbox)", map[string]any{"instagram_account_id": "178400000000001", "api_base_url": graph.URL},
		map[string]string{"page_access_token": secret.RandomToken("sandbox_"), "app_secret": secret.RandomToken("sandbox_")},
		&metaSandbox{graph: graph, instagram: true, accountID: "178400000000001"}); err != nil {
		return err
	}
	if err := a.startWhatsAppSandbox(ctx, add); err != nil {
		return err
	}
	if err := a.startSMSSandbox(ctx, add); err != nil {
		return err
	}
	if err := a.startSecondWaveSandboxes(ctx, add); err != nil {
		return err
	}
	return a.startEmailSandbox(ctx, add)
}

// sandboxCustomer plays the customer: the fake platform delivers a signed
// webhook to Parley's own webhook URL, through the real inbound path.
func (a *App) sandboxCustomer(w http.ResponseWriter, r *http.Request) {
	sp := a.sandboxPoint(w, r)
	if sp == nil {
		return
	}
	var in struct {
		From     string `json:"from"`
		Name     string `json:"name"`
		Text     string `json:"text"`
		ChoiceID string `json:"choice_id"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&in); err != nil || in.From == "" || (in.Text == "" && in.ChoiceID == "") {
		http.Error(w, `send {"from": "<customer id>", "text": "…"} (or "choice_id" to tap a button or row)`, http.StatusBadRequest)
		return
	}
	if in.Text == "" {
		in.Text = in.ChoiceID
	}
	status, body, err := sp.platform.deliver(a.PublicURL()+"/webhooks/"+sp.pocID, sp.appSecret, in.From, in.Name, in.Text, in.ChoiceID, a.cfg.Now())
	if err != nil {
		http.Error(w, "delivery: "+err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"webhook_status": status, "webhook_response": body, "point_of_contact_id": sp.pocID})
}

// sandboxPhone shows what the customer has received from the business.
func (a *App) sandboxPhone(w http.ResponseWriter, r *http.Request) {
	sp := a.sandboxPoint(w, r)
	if sp == nil {
		return
	}
	to := r.URL.Query().Get("to")
	if to == "" {
		http.Error(w, "?to=<customer id>", http.StatusBadRequest)
		return
	}
	msgs := sp.platform.received(to)
	if msgs == nil {
		msgs = []json.RawMessage{}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"to": to, "received": msgs})
}

func (a *App) sandboxPoint(w http.ResponseWriter, r *http.Request) *sandboxPoint {
	a.sandbox.mu.Lock()
	defer a.sandbox.mu.Unlock()
	sp := a.sandbox.points[r.PathValue("channel")]
	if sp == nil {
		names := []string{}
		for k := range a.sandbox.points {
			names = append(names, k)
		}
		http.Error(w, "no sandbox for this channel; try: "+strings.Join(names, ", "), http.StatusNotFound)
	}
	return sp
}

// startChatDemo makes the demo website's chat point of contact (once).
func (a *App) startChatDemo(ctx context.Context, workspaceID, adminID string) error {
	ps, err := a.Points.List(ctx, workspaceID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Type == "chat" {
			a.demoChatID = p.ID
			return nil
		}
	}
	p, _, err := a.Points.Create(ctx, workspaceID, adminID, channel.NewPointOfContact{Type: "chat", Name: "Demo website chat",
		Settings: map[string]any{"allow_any_origin": true, "title": "Demo shop", "greeting": "Hi! Ask us anything — an agent answers from the Parley inbox."}})
	if err != nil {
		return fmt.Errorf("demo chat: %w", err)
	}
	a.demoChatID = p.ID
	return nil
}

// demoSite serves the demo shop page with the demo chat widget.
func (a *App) demoSite() http.Handler {
	site := a.chat.DemoSite()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("poc") == "" && a.demoChatID != "" {
			http.Redirect(w, r, "/demo/site?poc="+a.demoChatID, http.StatusFound)
			return
		}
		site.ServeHTTP(w, r)
	})
}

// signingSecret is the credential a platform signs its webhooks with: Meta's
// app secret, Slack's signing secret, Telegram's webhook secret token, X's
// consumer secret, Business Messages' client token, LINE's channel secret,
// or Twilio's and Viber's auth token.
func signingSecret(credential func(string) string) string {
	for _, k := range []string{"app_secret", "signing_secret", "secret_token", "consumer_secret", "client_token", "channel_secret"} {
		if v := credential(k); v != "" {
			return v
		}
	}
	return credential("auth_token")
}
