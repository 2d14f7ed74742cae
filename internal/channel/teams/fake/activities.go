package fake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// User is a Teams user writing to the bot.
type User struct {
	ID          string // 29:…
	Name        string
	AADObjectID string
}

// Activity is a Bot Framework activity as the Bot Connector posts it.
// Builders return one; change fields before posting for odd cases.
type Activity map[string]any

// JSON is the activity's body.
func (a Activity) JSON() []byte {
	b, _ := json.Marshal(a)
	return b
}

// ConversationID is the id of a user's personal chat with the bot.
func ConversationID(userID string) string {
	return "a:1" + strings.NewReplacer(":", "", " ", "").Replace(userID) + "-personal"
}

func timestamp(at time.Time) string {
	if at.IsZero() {
		at = time.Now()
	}
	return at.UTC().Format("2006-01-02T15:04:05.000Z")
}

// Activity builds an activity of a type from a user in their personal
// chat with the bot, in the shape of CHANNELS.md's sample.
func (s *Server) Activity(kind string, u User, id string, at time.Time) Activity {
	from := map[string]any{"id": u.ID, "name": u.Name}
	if u.AADObjectID != "" {
		from["aadObjectId"] = u.AADObjectID
	}
	return Activity{
		"type": kind, "id": id, "timestamp": timestamp(at), "localTimestamp": timestamp(at),
		"serviceUrl": s.ServiceURL(), "channelId": DefaultChannelID,
		"from":         from,
		"conversation": map[string]any{"id": ConversationID(u.ID), "conversationType": "personal", "tenantId": DefaultTenantID},
		"recipient":    map[string]any{"id": "28:" + s.opts.AppID, "name": s.opts.BotName},
		"channelData":  map[string]any{"tenant": map[string]any{"id": DefaultTenantID}},
		"locale":       "en-US",
	}
}

// Text is a text message.
func (s *Server) Text(u User, id, text string, at time.Time) Activity {
	a := s.Activity("message", u, id, at)
	a["text"], a["textFormat"] = text, "plain"
	return a
}

// Submit is the tap of an Action.Submit button of one of Parley's cards:
// the button's data comes back as the value, and no text.
func (s *Server) Submit(u User, id, choiceID, label string, at time.Time) Activity {
	return s.SubmitValue(u, id, map[string]any{"parley_choice": choiceID, "parley_label": label}, at)
}

// SubmitValue is a card submit with any value (a choice list's inputs
// merged with the button's data).
func (s *Server) SubmitValue(u User, id string, value map[string]any, at time.Time) Activity {
	a := s.Activity("message", u, id, at)
	a["value"] = value
	return a
}

// Image is a pasted image: an image/* attachment hosted by the Bot
// Connector (AttachmentURL, needs the bot's token) and the message's
// text/html copy.
func (s *Server) Image(u User, id, text, mediaName string, at time.Time) Activity {
	a := s.Text(u, id, text, at)
	a["attachments"] = []any{
		map[string]any{"contentType": "image/*", "contentUrl": s.AttachmentURL(mediaName)},
		map[string]any{"contentType": "text/html", "content": "<p>" + text + "<img src=\"" + s.AttachmentURL(mediaName) + "\"></p>"},
	}
	return a
}

// File is a file shared in a personal chat: file.download.info with a
// pre-authenticated downloadUrl (FileURL).
func (s *Server) File(u User, id, name string, at time.Time) Activity {
	a := s.Activity("message", u, id, at)
	ext := name
	if i := strings.LastIndex(name, "."); i >= 0 {
		ext = name[i+1:]
	}
	a["attachments"] = []any{map[string]any{
		"contentType": "application/vnd.microsoft.teams.file.download.info",
		"contentUrl":  "https://contoso-my.sharepoint.com/personal/user/Documents/Microsoft%20Teams%20Chat%20Files/" + name,
		"name":        name,
		"content":     map[string]any{"downloadUrl": s.FileURL(name), "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C9D", "fileType": ext},
	}}
	return a
}

// ConversationUpdate is the bot being added to a personal chat.
func (s *Server) ConversationUpdate(u User, id string, at time.Time) Activity {
	a := s.Activity("conversationUpdate", u, id, at)
	a["membersAdded"] = []any{map[string]any{"id": "28:" + s.opts.AppID}}
	return a
}

// Reaction is a reaction (like, heart, laugh…) to one of the bot's
// messages.
func (s *Server) Reaction(u User, id, replyToID, reaction string, at time.Time) Activity {
	a := s.Activity("messageReaction", u, id, at)
	a["replyToId"] = replyToID
	a["reactionsAdded"] = []any{map[string]any{"type": reaction}}
	return a
}

// ReadReceipt is Teams' read receipt event for the bot's messages up to
// lastReadMessageID.
func (s *Server) ReadReceipt(u User, id, lastReadMessageID string, at time.Time) Activity {
	a := s.Activity("event", u, id, at)
	a["name"] = "application/vnd.microsoft.readReceipt"
	a["value"] = map[string]any{"lastReadMessageId": lastReadMessageID}
	return a
}

// TokenOptions shape a token the fake signs; zero values give a valid one.
type TokenOptions struct {
	// Audience: default the App ID.
	Audience string
	// Issuer: default https://api.botframework.com.
	Issuer string
	// ServiceURL is the serviceurl claim: default ServiceURL().
	ServiceURL string
	// NotBefore and ExpiresAt: default 5 minutes ago and in an hour
	// (by the fake's clock).
	NotBefore, ExpiresAt time.Time
	// KeyID overrides the header's kid (a key nobody published).
	KeyID string
	// WrongKey signs with a fresh key the fake does not publish, under the
	// published kid (a forged signature).
	WrongKey bool
}

// Token signs a Bot Connector token.
func (s *Server) Token(o TokenOptions) string {
	now := s.opts.Now()
	if o.Audience == "" {
		o.Audience = s.opts.AppID
	}
	if o.Issuer == "" {
		o.Issuer = Issuer
	}
	if o.ServiceURL == "" {
		o.ServiceURL = s.ServiceURL()
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-5 * time.Minute)
	}
	if o.ExpiresAt.IsZero() {
		o.ExpiresAt = now.Add(time.Hour)
	}
	s.mu.Lock()
	k := s.keys[len(s.keys)-1]
	s.mu.Unlock()
	if o.WrongKey {
		forged, err := newSigner(nil)
		if err != nil {
			panic(err) // crypto/rand failing: nothing sensible left to do
		}
		forged.kid, forged.x5t = k.kid, k.x5t
		k = forged
	}
	claims := jwt.MapClaims{"serviceurl": o.ServiceURL, "nbf": o.NotBefore.Unix(), "exp": o.ExpiresAt.Unix(), "iss": o.Issuer, "aud": o.Audience}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.kid
	t.Header["x5t"] = k.x5t
	if o.KeyID != "" {
		t.Header["kid"] = o.KeyID
	}
	signed, err := t.SignedString(k.key)
	if err != nil {
		panic(err) // an RSA key the fake made itself always signs
	}
	return signed
}

// Post delivers an activity to a webhook with a valid token for its
// serviceUrl, as the Bot Connector does. The conversation becomes known.
func (s *Server) Post(webhookURL string, a Activity) (*http.Response, error) {
	su, _ := a["serviceUrl"].(string)
	return s.PostWith(webhookURL, a, TokenOptions{ServiceURL: su})
}

// PostWith delivers an activity with a token shaped by o.
func (s *Server) PostWith(webhookURL string, a Activity, o TokenOptions) (*http.Response, error) {
	if o.ServiceURL == "" {
		o.ServiceURL, _ = a["serviceUrl"].(string)
	}
	return s.PostRaw(webhookURL, a.JSON(), "Bearer "+s.Token(o))
}

// PostRaw delivers a body with an Authorization header as given ("" for
// none).
func (s *Server) PostRaw(webhookURL string, body []byte, authorization string) (*http.Response, error) {
	s.remember(body)
	req, err := http.NewRequest(http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Microsoft-SkypeBotApi (Microsoft-BotFramework 3.0)")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return http.DefaultClient.Do(req)
}

// remember makes the conversation of a delivered activity known, with its
// user, so that the bot may answer it.
func (s *Server) remember(body []byte) {
	var a struct {
		From         struct{ ID string } `json:"from"`
		Conversation struct{ ID string } `json:"conversation"`
	}
	if json.Unmarshal(body, &a) == nil && a.Conversation.ID != "" {
		s.AddConversation(a.Conversation.ID, a.From.ID)
	}
}

// Deliver plays the customer for the sandbox: user from (named name) says
// text, or, with a choiceID, taps the card button of that option (text is
// then its label). It returns the webhook's status and body.
func (s *Server) Deliver(webhookURL, from, name, text, choiceID string, at time.Time) (int, string, error) {
	u := User{ID: from, Name: name}
	s.mu.Lock()
	s.delivered++
	n := s.delivered
	s.mu.Unlock()
	// Personal-chat activity ids are millisecond timestamps; a counter
	// keeps two deliveries in one millisecond apart.
	id := fmt.Sprintf("%d%03d", at.UnixMilli(), n%1000)
	a := s.Text(u, id, text, at)
	if choiceID != "" {
		a = s.Submit(u, id, choiceID, text, at)
	}
	resp, err := s.Post(webhookURL, a)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
