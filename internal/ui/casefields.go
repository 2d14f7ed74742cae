package ui

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/inbox"
)

// Fields lists a case's custom fields, sorted by name, each value as an
// agent edits it: a JSON string as its text, anything else (number, list)
// as compact JSON.
func (r caseRow) Fields() []kv { return fieldList(r.CustomFields) }

func fieldList(raw json.RawMessage) []kv {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil
	}
	out := make([]kv, 0, len(obj))
	for k, v := range obj {
		out = append(out, kv{k, fieldText(v)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].K < out[j].K })
	return out
}

func fieldText(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// customFieldsPatch reads the properties form's custom fields: an emptied
// field is removed, a changed one stored as text (an unchanged number or
// list keeps its type), and one new field may be added. It returns nil when
// nothing changed.
func customFieldsPatch(r *http.Request, current json.RawMessage) (*json.RawMessage, error) {
	if _, ok := r.PostForm["cf_new_key"]; !ok {
		return nil, nil // a form without the fields section
	}
	patch := map[string]any{}
	for _, f := range fieldList(current) {
		v, ok := r.PostForm["cf."+f.K]
		if !ok {
			continue
		}
		switch text := strings.TrimSpace(v[0]); {
		case text == "":
			patch[f.K] = nil
		case text != f.V:
			patch[f.K] = text
		}
	}
	if k := strings.TrimSpace(r.PostForm.Get("cf_new_key")); k != "" {
		if utf8.RuneCountInString(k) > 64 {
			return nil, &inbox.ValidationError{Field: "custom_fields", Reason: "a field name has at most 64 characters"}
		}
		v := strings.TrimSpace(r.PostForm.Get("cf_new_value"))
		if v == "" {
			return nil, &inbox.ValidationError{Field: "custom_fields", Reason: "a new field needs a value"}
		}
		patch[k] = v
	}
	if len(patch) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return nil, err
	}
	raw := json.RawMessage(b)
	return &raw, nil
}
