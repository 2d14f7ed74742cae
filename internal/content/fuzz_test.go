package content

import (
	"encoding/json"
	"testing"
	"time"
)

func seedCorpus(f *testing.F) {
	for _, c := range samples() {
		b, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"list_picker","text":"x","options":[{"id":"a","label":"A"}],"sections":[{"title":"s","option_ids":["a","a"]}]}`))
	f.Add([]byte(`{"type":"time_picker","text":"x","timezone":"../../etc/passwd","slots":[{"id":"a","start":"2025-01-01T00:00:00Z","duration_sec":60}]}`))
	f.Add([]byte(`{"type":"html","text":"<svg onload=alert(1)><a href=javascript:x>"}`))
}

// FuzzValidate: any JSON must unmarshal and validate without panicking, and
// a valid content must survive a JSON round trip still valid.
func FuzzValidate(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Content
		if json.Unmarshal(data, &c) != nil {
			return
		}
		if c.Validate() != nil {
			return
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var again Content
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatal(err)
		}
		if err := again.Validate(); err != nil {
			t.Fatalf("valid content invalid after a round trip: %v\n%s", err, b)
		}
	})
}

// FuzzRender: every valid content renders on every channel type, with a
// non-empty text and valid native JSON.
func FuzzRender(f *testing.F) {
	seedCorpus(f)
	loc := time.FixedZone("X", 5*3600+1800)
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Content
		if json.Unmarshal(data, &c) != nil || c.Validate() != nil {
			return
		}
		for _, ch := range ChannelTypes() {
			r, err := Render(ch, c, RenderOptions{MessageID: "m", Now: fixedNow, Location: loc})
			if err != nil {
				t.Fatalf("%s: %v", ch, err)
			}
			if r.Native != nil && !json.Valid(r.Native) {
				t.Fatalf("%s: invalid native JSON %s", ch, r.Native)
			}
			if r.Prompt != nil {
				if _, err := json.Marshal(r.Prompt); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

// FuzzResolve: any reply against prompts of every kind never panics, and a
// Choice always names options of the prompt.
func FuzzResolve(f *testing.F) {
	for _, s := range []string{"2", "1, 3", "the second one", "le deuxième", "bleu", "cancel", "24/11/2025", "", "1,1,1,1", "99999999999", "2nd 3rd", "ÉCARLATE"} {
		f.Add(s, "", "")
	}
	f.Add("", "red,blue", "")
	f.Add("", "", "email")
	multi := colours
	multi.MultiSelect = true
	var prompts []*Prompt
	for _, c := range []Content{colours, multi, sizes, samples()["time_picker"], samples()["form"], samples()["card"], samples()["carousel"]} {
		r, err := Render(ChannelSMS, c, testOpts())
		if err != nil || r.Prompt == nil {
			f.Fatalf("setup: %v", err)
		}
		prompts = append(prompts, r.Prompt)
	}
	f.Fuzz(func(t *testing.T, text, nativeID, formKey string) {
		var fv map[string]string
		if formKey != "" {
			fv = map[string]string{formKey: text, "name": text, "email": nativeID}
		}
		for _, p := range prompts {
			cur := p
			for i := 0; i < 3 && cur != nil; i++ { // follow a form a few steps
				out := Resolve(cur, Reply{Text: text, NativeID: nativeID, FormValues: fv}, fixedNow)
				if out.Choice != nil {
					for _, id := range out.Choice.OptionIDs {
						if _, ok := cur.optionByID(id); !ok {
							t.Fatalf("choice %q not in prompt", id)
						}
					}
				}
				if out.AskAgain != nil {
					if err := out.AskAgain.Validate(); err != nil {
						t.Fatalf("ask-again content invalid: %v", err)
					}
				}
				cur = out.UpdatedPrompt
			}
		}
	})
}
