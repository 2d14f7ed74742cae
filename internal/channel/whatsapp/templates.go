package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/meta"
)

// maxTemplatePages bounds a sync (100 pages of 100 templates).
const maxTemplatePages = 100

type templatePage struct {
	Data []struct {
		Name       string          `json:"name"`
		Language   string          `json:"language"`
		Category   string          `json:"category"`
		Status     string          `json:"status"`
		Components json.RawMessage `json:"components"`
	} `json:"data"`
	Paging struct {
		Cursors struct {
			After string `json:"after"`
		} `json:"cursors"`
		Next string `json:"next"`
	} `json:"paging"`
}

// SyncTemplates lists the business account's message templates: GET
// /{waba_id}/message_templates?limit=100, following paging.next (or, when
// next points elsewhere than the configured Graph URL, cursors.after on it).
// Statuses are lower-cased; Parameters are derived from the components.
func (a *Adapter) SyncTemplates(ctx context.Context, poc *channel.PointOfContact) ([]channel.Template, error) {
	base := meta.BaseURL(poc)
	first := base + "/" + url.PathEscape(poc.SettingString(SettingWABAID)) + "/message_templates?limit=100"
	token := poc.Credential(CredentialAccessToken)
	baseURL, _ := url.Parse(base)
	out := []channel.Template{}
	next := first
	seen := map[string]bool{}
	for page := 0; next != ""; page++ {
		if page >= maxTemplatePages || seen[next] {
			return nil, fmt.Errorf("whatsapp: template paging does not end (after %d pages)", page)
		}
		seen[next] = true
		raw, err := a.client.Do(ctx, http.MethodGet, next, token, nil)
		if err != nil {
			return nil, err
		}
		var p templatePage
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("whatsapp: unreadable template list: %v", err)
		}
		for _, d := range p.Data {
			if d.Name == "" || d.Language == "" {
				continue
			}
			components := d.Components
			if len(components) == 0 || string(components) == "null" {
				components = json.RawMessage("[]")
			}
			out = append(out, channel.Template{Name: d.Name, Language: d.Language, Category: d.Category,
				Status: strings.ToLower(d.Status), Components: components, Parameters: Parameters(components)})
		}
		next = ""
		if p.Paging.Next != "" {
			if u, err := url.Parse(p.Paging.Next); err == nil && baseURL != nil && u.Scheme == baseURL.Scheme && u.Host == baseURL.Host {
				next = p.Paging.Next
			} else if p.Paging.Cursors.After != "" {
				next = first + "&after=" + url.QueryEscape(p.Paging.Cursors.After)
			}
		}
	}
	return out, nil
}

var templateVariable = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_]+)\s*\}\}`)

// variables lists a text's template variables: {{1}}, {{2}}… in number
// order, or named ones ({{first_name}}) in order of appearance; each once.
func variables(text string) []string {
	var out []string
	seen := map[string]bool{}
	numbered := true
	for _, m := range templateVariable.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
			numbered = numbered && isNumber(m[1])
		}
	}
	if numbered {
		sort.Slice(out, func(i, j int) bool {
			a, _ := strconv.Atoi(out[i])
			b, _ := strconv.Atoi(out[j])
			return a < b
		})
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// Parameters derives a template's variables from its components, in the
// order a template message gives them: the header's ({{1}} in its text, or
// one image, document or video for a media header), the body's {{1}},
// {{2}}… (or named variables, numbered in order of appearance), then one
// per button whose URL ends in a variable (or copy-code button). For a
// button, Index is the button's 1-based position among the template's
// buttons (the Cloud API's "index" is that minus one).
func Parameters(components json.RawMessage) []channel.TemplateParameter {
	var comps []templateComponent
	if json.Unmarshal(components, &comps) != nil {
		return []channel.TemplateParameter{}
	}
	var header, body, buttons []channel.TemplateParameter
	for _, c := range comps {
		switch strings.ToLower(c.Type) {
		case "header":
			switch f := strings.ToLower(c.Format); f {
			case "image", "document", "video":
				header = append(header, channel.TemplateParameter{Component: "header", Index: 1, Type: f})
			case "text", "":
				for i, v := range variables(c.Text) {
					header = append(header, channel.TemplateParameter{Component: "header", Index: index(v, i), Type: "text"})
				}
			}
		case "body":
			for i, v := range variables(c.Text) {
				body = append(body, channel.TemplateParameter{Component: "body", Index: index(v, i), Type: "text"})
			}
		case "buttons":
			for i, b := range c.Buttons {
				switch strings.ToLower(b.Type) {
				case "url":
					if len(variables(b.URL)) > 0 {
						buttons = append(buttons, channel.TemplateParameter{Component: "button", Index: i + 1, Type: "text"})
					}
				case "copy_code":
					buttons = append(buttons, channel.TemplateParameter{Component: "button", Index: i + 1, Type: "text"})
				}
			}
		}
	}
	out := append(append(append([]channel.TemplateParameter{}, header...), body...), buttons...)
	return out
}

// index is a variable's number: its own for {{n}}, its position for a name.
func index(v string, i int) int {
	if n, err := strconv.Atoi(v); err == nil {
		return n
	}
	return i + 1
}
