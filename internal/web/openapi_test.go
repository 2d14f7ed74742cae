package web

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

type stubContent struct{}

func (stubContent) Capabilities(string) (any, bool)                             { return nil, true }
func (stubContent) Preview(string, []byte) (any, error)                         { return nil, nil }
func (stubContent) LinkPreview(context.Context, string) (any, error)            { return nil, nil }
func (stubContent) Enrich(_ context.Context, c json.RawMessage) json.RawMessage { return c }

// TestOpenAPICoversEveryRoute fails when a route is missing from the
// OpenAPI document, or the document lists a route that does not exist.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	s := New(Deps{Content: stubContent{}}, Options{PublicURL: "http://parley.test"})
	raw, err := s.buildOpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, r := range s.Routes() {
		key := r.Method + " " + r.Pattern
		registered[key] = true
		if _, ok := doc.Paths[r.Pattern][strings.ToLower(r.Method)]; !ok {
			t.Errorf("route %s is missing from the OpenAPI document", key)
		}
	}
	for _, key := range documentedOperations() {
		if !registered[key] {
			t.Errorf("the OpenAPI document lists %s, which is not a route", key)
		}
	}
	// Every $ref points at a defined schema.
	var full map[string]any
	_ = json.Unmarshal(raw, &full)
	schemas := full["components"].(map[string]any)["schemas"].(map[string]any)
	for _, ref := range findRefs(full) {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		if _, ok := schemas[name]; !ok {
			t.Errorf("dangling $ref %s", ref)
		}
	}
}

func findRefs(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if s, ok := val.(string); ok && k == "$ref" {
				out = append(out, s)
			} else {
				out = append(out, findRefs(val)...)
			}
		}
	case []any:
		for _, e := range x {
			out = append(out, findRefs(e)...)
		}
	}
	return out
}
