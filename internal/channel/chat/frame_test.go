package chat

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseFrame(t *testing.T) {
	good := []string{
		`{"type":"message","client_id":"0b6f2c1e-3f5a-4c8e-9d2b-1a2b3c4d5e6f","text":"hello"}`,
		`{"type":"message","client_id":"abcdefgh","text":"Yes","choice_id":"yes","message_id":"018f-abc"}`,
		`{"type":"message","client_id":"abcdefgh","choice_id":"red,green"}`,
		`{"type":"form","client_id":"abcdefgh","prompt_id":"m1","values":{"name":"Ana","email":"ana@example.com"}}`,
		`{"type":"typing","on":true}`,
		`{"type":"typing"}`,
		`{"type":"read","message_id":"m1"}`,
	}
	for _, g := range good {
		if _, err := ParseFrame([]byte(g), 4000); err != nil {
			t.Errorf("%s: %v", g, err)
		}
	}
	bad := []string{
		``, `null`, `[]`, `"x"`, `{}`,
		`{"type":"message","client_id":"short","text":"x"}`,
		`{"type":"message","client_id":"abcdefgh","text":"   "}`,
		`{"type":"message","client_id":"abcdefgh","text":"x","choice_id":"a b"}`,
		`{"type":"message","client_id":"abcdefgh","text":"x","choice_id":"a,,b"}`,
		`{"type":"message","client_id":"abcdefgh","text":"x","unknown":1}`,
		`{"type":"message","client_id":"abcdefgh","text":"x"} {"type":"typing"}`,
		`{"type":"message","client_id":"abcdefgh","text":"` + strings.Repeat("é", 4001) + `"}`,
		`{"type":"form","client_id":"abcdefgh","values":{}}`,
		`{"type":"form","client_id":"abcdefgh","values":{"a b":"x"}}`,
		`{"type":"read"}`,
		`{"type":"read","message_id":"<script>"}`,
		`{"type":"typing","text":"x"}`,
		`{"type":"subscribe"}`,
	}
	for _, b := range bad {
		if _, err := ParseFrame([]byte(b), 4000); err == nil {
			t.Errorf("accepted %s", b)
		}
	}
}

func TestInboundEventFromFrames(t *testing.T) {
	s := session{VisitorID: "v_x", Name: "Ana"}
	f, _ := ParseFrame([]byte(`{"type":"message","client_id":"abcdefgh","text":"Yes","choice_id":"yes","message_id":"m1"}`), 100)
	ev := inboundEvent(f, s, time.Now())
	if ev.PlatformMessageID != "v_x|abcdefgh" || ev.ThreadID != "v_x" || ev.AuthorID != "v_x" || ev.ChoiceID != "yes" || ev.Text != "Yes" || ev.ReplyToPlatformID != "m1" {
		t.Errorf("message: %+v", ev)
	}
	f, _ = ParseFrame([]byte(`{"type":"form","client_id":"abcdefgh","prompt_id":"m2","values":{"name":"Ana","email":"a@b.co"}}`), 100)
	ev = inboundEvent(f, s, time.Now())
	if ev.Text != "email: a@b.co\nname: Ana" || ev.ChoiceID != "" || ev.ReplyToPlatformID != "m2" {
		t.Errorf("form: %+v", ev)
	}
	if v, c, ok := splitPlatformID("id:a|b|abcdefgh"); !ok || v != "id:a|b" || c != "abcdefgh" {
		t.Errorf("split: %q %q", v, c)
	}
}

// FuzzFrame: no input makes ParseFrame panic, and what it accepts is a
// well-formed frame that round-trips.
//
//	go test ./internal/channel/chat -run '^$' -fuzz '^FuzzFrame$' -fuzztime 2m
func FuzzFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"message","client_id":"abcdefgh","text":"hi","choice_id":"a,b"}`,
		`{"type":"form","client_id":"abcdefgh","prompt_id":"m","values":{"k":"v"}}`,
		`{"type":"typing","on":true}`, `{"type":"read","message_id":"m1"}`, `{}`, `[`, "\xff",
	} {
		f.Add([]byte(s), 4000)
	}
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 1 || max > MaxMessageLengthLimit {
			max = 4000
		}
		fr, err := ParseFrame(b, max)
		if err != nil {
			return
		}
		switch fr.Type {
		case "message", "form", "typing", "read":
		default:
			t.Fatalf("accepted type %q", fr.Type)
		}
		again, _ := json.Marshal(fr)
		if _, err := ParseFrame(again, max); err != nil {
			t.Fatalf("accepted %q but not its re-encoding %s: %v", b, again, err)
		}
		if fr.Type == "message" || fr.Type == "form" {
			ev := inboundEvent(fr, session{VisitorID: "v"}, time.Time{})
			if v, c, ok := splitPlatformID(ev.PlatformMessageID); !ok || v != "v" || c != fr.ClientID {
				t.Fatalf("platform id %q", ev.PlatformMessageID)
			}
		}
	})
}
