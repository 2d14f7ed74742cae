package teams_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/teams"
	"github.com/parleyhq/parley/internal/channel/teams/fake"
)

// channelsSample is CHANNELS.md §10's sample activity, verbatim but for the
// bot's App ID.
func channelsSample(appID string) []byte {
	return []byte(`{"type":"message","id":"1485983408511","timestamp":"2026-02-01T21:10:07.437Z","serviceUrl":"https://smba.trafficmanager.net/amer/","channelId":"msteams",
 "from":{"id":"29:1XJK…","name":"Megan","aadObjectId":"…"},"conversation":{"id":"a:17I0kl…","conversationType":"personal","tenantId":"…"},
 "recipient":{"id":"28:` + appID + `","name":"Bot"},"text":"Hello","textFormat":"plain","channelData":{"tenant":{"id":"…"}}}`)
}

func TestConformanceChannelsSample(t *testing.T) {
	e := newEnv(t)
	body := channelsSample(e.fk.Options().AppID)
	tok := e.fk.Token(fake.TokenOptions{ServiceURL: "https://smba.trafficmanager.net/amer/"})
	r := request(body, tok)
	if err := e.a.Authenticate(r, body, e.poc); err != nil {
		t.Fatalf("the sample signed by the published key: %v", err)
	}
	got, err := e.a.Parse(r, body, e.poc)
	if err != nil {
		t.Fatal(err)
	}
	want := []channel.InboundEvent{{Kind: channel.EventMessage, PlatformMessageID: "1485983408511|a:17I0kl…|https://smba.trafficmanager.net/amer/",
		ThreadID: "a:17I0kl…", AuthorID: "29:1XJK…", AuthorName: "Megan", Text: "Hello", SentAt: t0}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestAuthenticateRefuses(t *testing.T) {
	e := newEnv(t)
	act := e.fk.Text(megan, "1001", "hello", t0)
	body := act.JSON()
	hs256 := func() string {
		// Algorithm confusion: HMAC "signed" with something public.
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": fake.Issuer, "aud": e.fk.Options().AppID,
			"serviceurl": e.fk.ServiceURL(), "exp": t0.Add(time.Hour).Unix(), "nbf": t0.Unix()})
		tok.Header["kid"] = e.fk.KeyID()
		s, _ := tok.SignedString([]byte(e.fk.KeyID()))
		return "Bearer " + s
	}
	for _, tc := range []struct {
		name string
		auth func() string
		body []byte
	}{
		{"no header", func() string { return "" }, body},
		{"not bearer", func() string { return "Basic " + e.fk.Token(fake.TokenOptions{}) }, body},
		{"garbage", func() string { return "Bearer not.a.jwt" }, body},
		{"bad signature", func() string { return "Bearer " + e.fk.Token(fake.TokenOptions{WrongKey: true}) }, body},
		{"wrong audience", func() string {
			return "Bearer " + e.fk.Token(fake.TokenOptions{Audience: "00000000-0000-0000-0000-000000000001"})
		}, body},
		{"wrong issuer", func() string {
			return "Bearer " + e.fk.Token(fake.TokenOptions{Issuer: "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/"})
		}, body},
		{"expired beyond the 5 minutes", func() string {
			return "Bearer " + e.fk.Token(fake.TokenOptions{NotBefore: t0.Add(-2 * time.Hour), ExpiresAt: t0.Add(-6 * time.Minute)})
		}, body},
		{"not yet valid beyond the 5 minutes", func() string {
			return "Bearer " + e.fk.Token(fake.TokenOptions{NotBefore: t0.Add(6 * time.Minute), ExpiresAt: t0.Add(time.Hour)})
		}, body},
		{"unknown key", func() string { return "Bearer " + e.fk.Token(fake.TokenOptions{KeyID: "nobody-published-this"}) }, body},
		{"serviceUrl claim for another serviceUrl", func() string {
			return "Bearer " + e.fk.Token(fake.TokenOptions{ServiceURL: "https://smba.trafficmanager.net/emea/"})
		}, body},
		{"activity's serviceUrl changed after signing", func() string { return "Bearer " + e.fk.Token(fake.TokenOptions{}) },
			withField(act, "serviceUrl", "https://attacker.example/amer/").JSON()},
		{"key not endorsed for the channel", func() string { return "Bearer " + e.fk.Token(fake.TokenOptions{}) },
			withField(act, "channelId", "skype").JSON()},
		{"HS256 with a public value", hs256, body},
		{"body is not an activity", func() string { return "Bearer " + e.fk.Token(fake.TokenOptions{}) }, []byte(`[1,2]`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request(tc.body, "")
			if a := tc.auth(); a != "" {
				r.Header.Set("Authorization", a)
			}
			if err := e.a.Authenticate(r, tc.body, e.poc); !errors.Is(err, channel.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
		})
	}
	// Within the 5 minutes of clock skew, both ways, it is accepted.
	for _, o := range []fake.TokenOptions{
		{NotBefore: t0.Add(-2 * time.Hour), ExpiresAt: t0.Add(-4 * time.Minute)},
		{NotBefore: t0.Add(4 * time.Minute), ExpiresAt: t0.Add(time.Hour)},
	} {
		if _, err := e.receive(t, act, o); err != nil {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func withField(a fake.Activity, k string, v any) fake.Activity {
	c := fake.Activity{}
	for key, val := range a {
		c[key] = val
	}
	c[k] = v
	return c
}

// Keys are read once and cached; a kid the cache lacks makes one re-read,
// at most once a minute; a rotated key is picked up.
func TestSigningKeyCache(t *testing.T) {
	e := newEnv(t)
	act := e.fk.Text(megan, "1001", "hello", t0)
	ok := func(o fake.TokenOptions) error { _, err := e.receive(t, act, o); return err }
	for i := 0; i < 3; i++ {
		if err := ok(fake.TokenOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.fk.KeyRequests(); n != 1 {
		t.Fatalf("keys read %d times for 3 activities, want 1", n)
	}
	// Made-up kids: one re-read, then none until a minute has passed.
	for i := 0; i < 5; i++ {
		if err := ok(fake.TokenOptions{KeyID: "made-up"}); !errors.Is(err, channel.ErrUnauthenticated) {
			t.Fatal(err)
		}
	}
	if n := e.fk.KeyRequests(); n != 1 {
		t.Fatalf("keys read %d times, want 1 (the first read was less than a minute ago)", n)
	}
	e.clock.Add(time.Minute)
	_ = ok(fake.TokenOptions{KeyID: "made-up"})
	_ = ok(fake.TokenOptions{KeyID: "made-up"})
	if n := e.fk.KeyRequests(); n != 2 {
		t.Fatalf("keys read %d times, want 2", n)
	}
	// Microsoft rotates: the new kid is read on first sight (a minute
	// after the last read).
	if err := e.fk.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if err := ok(fake.TokenOptions{}); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := e.fk.KeyRequests(); n != 3 {
		t.Fatalf("keys read %d times, want 3", n)
	}
	// A day later the keys are read again even when known.
	e.clock.Add(24 * time.Hour)
	if err := ok(fake.TokenOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := e.fk.KeyRequests(); n != 4 {
		t.Fatalf("keys read %d times, want 4 (daily refresh)", n)
	}
}

// A failed refresh keeps the keys already known.
func TestSigningKeysSurviveMetadataOutage(t *testing.T) {
	e := newEnv(t)
	act := e.fk.Text(megan, "1001", "hello", t0)
	if _, err := e.receive(t, act, fake.TokenOptions{}); err != nil {
		t.Fatal(err)
	}
	// The metadata now points at a dead server.
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	dead.Close()
	settings := e.fk.Settings()
	settings["openid_metadata_url"] = dead.URL + "/v1/.well-known/openidconfiguration"
	cold := e.pocs.mustCreate(settings, e.fk.Credentials())
	body := act.JSON()
	if err := e.a.Authenticate(request(body, e.fk.Token(fake.TokenOptions{})), body, cold); !errors.Is(err, channel.ErrUnauthenticated) {
		t.Fatalf("no keys ever read: got %v", err)
	}
	e.clock.Add(25 * time.Hour) // the cached keys of the live metadata are stale now
	e.fk.Close()                // and the metadata is unreachable
	if err := e.a.Authenticate(request(body, e.fk.Token(fake.TokenOptions{})), body, e.poc); err != nil {
		t.Fatalf("stale keys after a failed refresh: %v", err)
	}
}

// The fake signs and delivers over real HTTP exactly as the adapter checks.
func TestFakePostsOverHTTP(t *testing.T) {
	e := newEnv(t)
	var mu sync.Mutex
	var got []error
	var events []channel.InboundEvent
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		err := e.a.Authenticate(r, b, e.poc)
		mu.Lock()
		defer mu.Unlock()
		got = append(got, err)
		if err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		evs, _ := e.a.Parse(r, b, e.poc)
		events = append(events, evs...)
		_, _ = w.Write([]byte(`{"accepted":1}`))
	}))
	defer hook.Close()
	resp, err := e.fk.Post(hook.URL, e.fk.Text(megan, "2001", "hi", t0))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = e.fk.PostWith(hook.URL, e.fk.Text(megan, "2002", "hi", t0), fake.TokenOptions{Audience: "00000000-0000-0000-0000-000000000009"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	status, body, err := e.fk.Deliver(hook.URL, "29:sandbox-user", "Sam", "Blue", "blue", t0)
	if err != nil || status != 200 || !strings.Contains(body, "accepted") {
		t.Fatalf("deliver: %d %q %v", status, body, err)
	}
	if len(got) != 3 || got[0] != nil || !errors.Is(got[1], channel.ErrUnauthenticated) || got[2] != nil {
		t.Fatalf("authentication results %v", got)
	}
	if len(events) != 2 || events[1].ChoiceID != "blue" || events[1].Text != "Blue" || events[1].AuthorName != "Sam" ||
		events[1].ThreadID != fake.ConversationID("29:sandbox-user") {
		t.Fatalf("events %+v", events)
	}
	_ = teams.Type
}
