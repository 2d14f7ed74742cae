package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/parleyhq/parley/internal/hours"
)

// Input is everything a script may read about one event. The JSON form of
// its parts is what bots receive (BotRequest).
type Input struct {
	Event string          // EventCaseCreated or EventMessage
	Now   time.Time       // the event's time; zero means time.Now()
	Hours *hours.Schedule // the point of contact's business hours; nil = always open
	// Calendar, when set, is Hours already compiled (Schedule.Calendar)
	// and is used instead: a caller that keeps one per point of contact
	// saves loading the time zone on every run.
	Calendar *hours.Calendar
	Message  *Message // nil when the event has no message
	Contact  Contact
	Case     Case
	Channel  Channel
}

// Message is the inbound message that triggered the run.
type Message struct {
	ID          string `json:"id"`
	Text        string `json:"text"`
	ContentType string `json:"content_type"` // canonical content type, "text" for plain text
	// ChoiceOptionIDs are the option ids the customer picked when the
	// message answers a rich prompt (content.Choice.OptionIDs).
	ChoiceOptionIDs []string `json:"choice_option_ids"`
	Attachments     int      `json:"attachments"` // how many files came with it
}

// Contact is the customer.
type Contact struct {
	ID         string         `json:"id"`
	Name       string         `json:"name"`
	Email      string         `json:"email"`
	Phone      string         `json:"phone"`
	Identities []Identity     `json:"identities"`
	Fields     map[string]any `json:"fields"` // custom fields, JSON values
}

// Identity is one of the contact's addresses.
type Identity struct {
	Channel string `json:"channel"` // channel type
	Address string `json:"address"`
}

// Case is the case the event belongs to, as it is before the script's
// actions are applied.
type Case struct {
	ID       string         `json:"id"`
	Status   string         `json:"status"`
	Skill    string         `json:"skill"` // skill name, "" for none
	Subject  string         `json:"subject"`
	Assignee string         `json:"assignee"` // agent email or id, "" for none
	Priority int            `json:"priority"`
	Tags     []string       `json:"tags"`
	Fields   map[string]any `json:"fields"` // custom fields, JSON values
	New      bool           `json:"new"`    // created by this event
}

// Channel is the point of contact the event came through.
type Channel struct {
	Type             string `json:"type"`
	PointOfContactID string `json:"point_of_contact_id"`
	Name             string `json:"name"`
}

// maxValueDepth bounds nesting when converting values either way.
const maxValueDepth = 32

// predeclared builds the run's globals: the read-only event data and the
// builtins bound to this run.
func (r *run) predeclared() (starlark.StringDict, error) {
	in := r.in
	var message starlark.Value = starlark.None
	if m := in.Message; m != nil {
		message = record("message", starlark.StringDict{
			"id":                starlark.String(m.ID),
			"text":              starlark.String(m.Text),
			"content_type":      starlark.String(m.ContentType),
			"choice_option_ids": stringList(m.ChoiceOptionIDs),
			"attachments":       starlark.MakeInt(m.Attachments),
		})
	}
	contactFields, err := toStarlark(in.Contact.Fields, 0)
	if err != nil {
		return nil, fmt.Errorf("contact.fields: %w", err)
	}
	caseFields, err := toStarlark(in.Case.Fields, 0)
	if err != nil {
		return nil, fmt.Errorf("case.fields: %w", err)
	}
	identities := make([]starlark.Value, 0, len(in.Contact.Identities))
	for _, id := range in.Contact.Identities {
		identities = append(identities, record("identity", starlark.StringDict{
			"channel": starlark.String(id.Channel),
			"address": starlark.String(id.Address),
		}))
	}
	globals := starlark.StringDict{
		"event":   starlark.String(in.Event),
		"message": message,
		"contact": record("contact", starlark.StringDict{
			"id":         starlark.String(in.Contact.ID),
			"name":       starlark.String(in.Contact.Name),
			"email":      starlark.String(in.Contact.Email),
			"phone":      starlark.String(in.Contact.Phone),
			"identities": starlark.NewList(identities),
			"fields":     emptyDictIfNone(contactFields),
		}),
		"case": record("case", starlark.StringDict{
			"id":       starlark.String(in.Case.ID),
			"status":   starlark.String(in.Case.Status),
			"skill":    starlark.String(in.Case.Skill),
			"subject":  starlark.String(in.Case.Subject),
			"assignee": starlark.String(in.Case.Assignee),
			"priority": starlark.MakeInt(in.Case.Priority),
			"tags":     stringList(in.Case.Tags),
			"fields":   emptyDictIfNone(caseFields),
			"new":      starlark.Bool(in.Case.New),
		}),
		"channel": record("channel", starlark.StringDict{
			"type":                starlark.String(in.Channel.Type),
			"point_of_contact_id": starlark.String(in.Channel.PointOfContactID),
			"name":                starlark.String(in.Channel.Name),
		}),
	}
	for name, fn := range r.builtins() {
		globals[name] = starlark.NewBuiltin(name, fn)
	}
	globals.Freeze()
	return globals, nil
}

// record makes a read-only struct printed as name(field = …).
func record(name string, fields starlark.StringDict) *starlarkstruct.Struct {
	s := starlarkstruct.FromStringDict(starlark.String(name), fields)
	s.Freeze()
	return s
}

func stringList(ss []string) *starlark.List {
	vals := make([]starlark.Value, len(ss))
	for i, s := range ss {
		vals[i] = starlark.String(s)
	}
	return starlark.NewList(vals)
}

func emptyDictIfNone(v starlark.Value) starlark.Value {
	if v == starlark.None {
		return starlark.NewDict(0)
	}
	return v
}

// toStarlark converts a JSON-like Go value (what encoding/json decodes
// into any, plus Go's numeric types) to Starlark. Whole floats become ints,
// since JSON does not tell them apart and scripts index and count with
// them. Dict keys are sorted so that iteration order is stable. Other
// types go through their JSON encoding.
func toStarlark(v any, depth int) (starlark.Value, error) {
	if depth > maxValueDepth {
		return nil, errors.New("value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return starlark.None, nil
	case bool:
		return starlark.Bool(x), nil
	case string:
		return starlark.String(x), nil
	case float64:
		return floatValue(x), nil
	case float32:
		return floatValue(float64(x)), nil
	case int:
		return starlark.MakeInt(x), nil
	case int64:
		return starlark.MakeInt64(x), nil
	case int32:
		return starlark.MakeInt64(int64(x)), nil
	case uint64:
		return starlark.MakeUint64(x), nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return starlark.MakeInt64(i), nil
		}
		f, err := x.Float64()
		if err != nil {
			return nil, fmt.Errorf("bad number %q", x)
		}
		return floatValue(f), nil
	case []any:
		vals := make([]starlark.Value, len(x))
		for i, e := range x {
			sv, err := toStarlark(e, depth+1)
			if err != nil {
				return nil, err
			}
			vals[i] = sv
		}
		l := starlark.NewList(vals)
		l.Freeze()
		return l, nil
	case []string:
		l := stringList(x)
		l.Freeze()
		return l, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := starlark.NewDict(len(x))
		for _, k := range keys {
			sv, err := toStarlark(x[k], depth+1)
			if err != nil {
				return nil, err
			}
			if err := d.SetKey(starlark.String(k), sv); err != nil {
				return nil, err
			}
		}
		d.Freeze()
		return d, nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot give a %T to a script: %v", v, err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	return toStarlark(generic, depth+1)
}

func floatValue(f float64) starlark.Value {
	if f == math.Trunc(f) && math.Abs(f) <= 1<<53 {
		return starlark.MakeInt64(int64(f))
	}
	return starlark.Float(f)
}

// fromStarlark converts a script value to a JSON-like Go value (nil, bool,
// int64, float64, string, []any, map[string]any), refusing what JSON cannot
// hold.
func fromStarlark(v starlark.Value, depth int) (any, error) {
	if depth > maxValueDepth {
		return nil, errors.New("value nested too deeply")
	}
	switch x := v.(type) {
	case starlark.NoneType:
		return nil, nil
	case starlark.Bool:
		return bool(x), nil
	case starlark.Int:
		i, ok := x.Int64()
		if !ok {
			return nil, fmt.Errorf("integer %s is too large", x)
		}
		return i, nil
	case starlark.Float:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%v is not a JSON number", x)
		}
		return f, nil
	case starlark.String:
		return string(x), nil
	case *starlark.List:
		out := make([]any, x.Len())
		for i := range x.Len() {
			e, err := fromStarlark(x.Index(i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case starlark.Tuple:
		out := make([]any, len(x))
		for i, e := range x {
			g, err := fromStarlark(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	case *starlark.Dict:
		out := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := item[0].(starlark.String)
			if !ok {
				return nil, fmt.Errorf("dict keys must be strings, not %s", item[0].Type())
			}
			e, err := fromStarlark(item[1], depth+1)
			if err != nil {
				return nil, err
			}
			out[string(k)] = e
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s cannot be stored (use None, bool, number, string, list or dict)", v.Type())
}
