package script

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

const botSecret = "whsec_bot_secret"

// botServer answers each bot (by URL path) with a fixed status and body,
// after checking the request is signed and well formed.
func botServer(t *testing.T, answers map[string]func(w http.ResponseWriter, r *http.Request, req BotRequest)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read: %v", err)
			return
		}
		ts := r.Header.Get(TimestampHeader)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		want := SignBotRequest([]byte(botSecret), ts, body)
		if got := r.Header.Get(SignatureHeader); !hmac.Equal([]byte(got), []byte(want)) || ts != "1774256400" {
			t.Errorf("signature %q at %q, want %q", got, ts, want)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var req BotRequest
		if err := json.Unmarshal(body, &req); err != nil {
			t.Errorf("request body: %v", err)
		}
		answer, ok := answers[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		answer(w, r, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func reply(status int, body string) func(http.ResponseWriter, *http.Request, BotRequest) {
	return func(w http.ResponseWriter, _ *http.Request, _ BotRequest) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func httpBots(srv *httptest.Server) *HTTPBots {
	return &HTTPBots{
		Client: srv.Client(),
		Lookup: func(_ context.Context, bot string) (string, string, error) {
			if bot == "unknown" {
				return "", "", errors.New("no such bot")
			}
			return srv.URL + "/" + bot, botSecret, nil
		},
		Now: func() time.Time { return time.Unix(1774256400, 0) },
	}
}

const handOffScript = `
if hand_to_bot(bot_name):
    set_priority(20)
else:
    set_skill("support")
`

func runHandOff(t *testing.T, e *Engine, bot string) Result {
	t.Helper()
	src := "bot_name = " + fmt.Sprintf("%q", bot) + "\n" + handOffScript
	return e.Run(context.Background(), compile(t, e, src), messageInput(t, "how do I pay?"))
}

func TestHandToBotOverHTTP(t *testing.T) {
	srv := botServer(t, map[string]func(http.ResponseWriter, *http.Request, BotRequest){
		"faq": func(w http.ResponseWriter, r *http.Request, req BotRequest) {
			if req.Bot != "faq" || req.Event != EventMessage || req.Message == nil || req.Message.Text != "how do I pay?" ||
				req.Contact.Name != "Ada" || req.Case.ID != "k1" || req.Channel.Type != "whatsapp" {
				t.Errorf("bot request = %+v", req)
			}
			reply(200, `{"actions":[{"type":"reply","text":"Pay at example.com/pay"},{"type":"add_tag","tag":" FAQ"},{"type":"hand_back"}]}`)(w, r, req)
		},
		"closer":   reply(200, `{"actions":[{"type":"reply","text":"Bye"},{"type":"stop","stop":"close"},{"type":"add_tag","tag":"after"}]}`),
		"broken":   reply(500, `{"error":"boom"}`),
		"garbage":  reply(200, `<html>`),
		"invalid":  reply(200, `{"actions":[{"type":"set_priority","priority":500}]}`),
		"chain":    reply(200, `{"actions":[{"type":"hand_to_bot","bot":"faq"}]}`),
		"unknownt": reply(200, `{"actions":[{"type":"explode"}]}`),
		"silent":   reply(204, ``),
	})
	e := &Engine{Timeout: testTimeout, Bots: httpBots(srv)}

	res := runHandOff(t, e, "faq")
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := []Action{
		{Type: ActionHandToBot, Bot: "faq"},
		{Type: ActionReply, Text: "Pay at example.com/pay"},
		{Type: ActionAddTag, Tag: "faq"},
		{Type: ActionHandBack},
		{Type: ActionSetPriority, Priority: 20},
	}
	if !reflect.DeepEqual(res.Actions, want) {
		t.Fatalf("actions = %+v\nwant %+v", res.Actions, want)
	}

	// A bot's stop ends the script; what the bot put after it is dropped.
	res = runHandOff(t, e, "closer")
	want = []Action{{Type: ActionHandToBot, Bot: "closer"}, {Type: ActionReply, Text: "Bye"}, {Type: ActionStop, Stop: "close"}}
	if res.Err != nil || !reflect.DeepEqual(res.Actions, want) {
		t.Fatalf("closer: %v, actions = %+v", res.Err, res.Actions)
	}

	// An empty answer (204) is a bot that has nothing to add yet.
	res = runHandOff(t, e, "silent")
	want = []Action{{Type: ActionHandToBot, Bot: "silent"}, {Type: ActionSetPriority, Priority: 20}}
	if res.Err != nil || !reflect.DeepEqual(res.Actions, want) {
		t.Fatalf("silent: %v, actions = %+v", res.Err, res.Actions)
	}

	// Failing bots make hand_to_bot return False: the script falls back,
	// none of the bot's actions are kept, and the reason is logged.
	for bot, reason := range map[string]string{
		"broken":   "answered 500",
		"garbage":  "answer is not",
		"invalid":  "priority must be between 0 and 100",
		"chain":    "a bot cannot hand to another bot",
		"unknownt": `unknown action type "explode"`,
		"unknown":  "no such bot",
		"missing":  "answered 404",
	} {
		res := runHandOff(t, e, bot)
		if res.Err != nil || !reflect.DeepEqual(res.Actions, []Action{{Type: ActionSetSkill, Skill: "support"}}) {
			t.Errorf("%s: %v, actions %+v; want the fallback only", bot, res.Err, res.Actions)
		}
		if len(res.Logs) != 1 || !strings.Contains(res.Logs[0], reason) || !strings.HasPrefix(res.Logs[0], fmt.Sprintf("hand_to_bot(%q)", bot)) {
			t.Errorf("%s: logs %q, want %q", bot, res.Logs, reason)
		}
	}

	// No bot service at all: the same fallback.
	res = runHandOff(t, &Engine{Timeout: testTimeout}, "faq")
	if res.Err != nil || len(res.Actions) != 1 || !strings.Contains(strings.Join(res.Logs, ""), "no bot service") {
		t.Fatalf("no bots: %v %+v %q", res.Err, res.Actions, res.Logs)
	}

	// A bot answering more actions than the run has left is refused whole.
	small := &Engine{Timeout: testTimeout, MaxActions: 3, Bots: httpBots(srv)}
	res = runHandOff(t, small, "faq")
	if res.Err != nil || !reflect.DeepEqual(res.Actions, []Action{{Type: ActionSetSkill, Skill: "support"}}) {
		t.Fatalf("over budget: %v %+v", res.Err, res.Actions)
	}
}

// TestHangingBot: a bot that never answers gets the run's time minus a
// reserve, so the script still falls back within the time limit.
func TestHangingBot(t *testing.T) {
	srv := botServer(t, map[string]func(http.ResponseWriter, *http.Request, BotRequest){
		"slow": func(_ http.ResponseWriter, r *http.Request, _ BotRequest) { <-r.Context().Done() },
	})
	e := &Engine{Timeout: time.Second, Bots: httpBots(srv)}
	res := runHandOff(t, e, "slow")
	if res.Err != nil || !reflect.DeepEqual(res.Actions, []Action{{Type: ActionSetSkill, Skill: "support"}}) {
		t.Fatalf("%v, actions %+v, logs %q", res.Err, res.Actions, res.Logs)
	}
	if !strings.Contains(strings.Join(res.Logs, ""), "deadline exceeded") {
		t.Fatalf("logs %q, want the deadline", res.Logs)
	}
}

func TestHTTPBotsErrors(t *testing.T) {
	srv := botServer(t, map[string]func(http.ResponseWriter, *http.Request, BotRequest){
		"huge": func(w http.ResponseWriter, _ *http.Request, _ BotRequest) {
			io.WriteString(w, `{"actions":[{"type":"reply","text":"`+strings.Repeat("a", maxBotAnswer)+`"}]}`)
		},
	})
	bots := httpBots(srv)
	if _, err := bots.CallBot(context.Background(), "huge", BotRequest{Bot: "huge"}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("huge answer: %v", err)
	}
	if _, err := (&HTTPBots{}).CallBot(context.Background(), "x", BotRequest{}); err == nil {
		t.Fatal("no Lookup accepted")
	}
	bad := &HTTPBots{Lookup: func(context.Context, string) (string, string, error) { return "://nope", "s", nil }}
	if _, err := bad.CallBot(context.Background(), "x", BotRequest{}); err == nil {
		t.Fatal("bad URL accepted")
	}
}

// TestSignatureVector: the bot signature is the one docs/byoc.md documents
// for every Parley callback, test vector included.
func TestSignatureVector(t *testing.T) {
	got := SignBotRequest([]byte("whsec_test_secret"), "1700000000", []byte(`{"message_id":"m1"}`))
	if want := "t=1700000000,v1=975b8e54e597022fdcf513312d7f880bf8dbc9cb1520fbec97d1d07f1d49fa54"; got != want {
		t.Fatalf("signature = %s, want %s", got, want)
	}
}
