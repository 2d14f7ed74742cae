package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"time"
)

// funcs are the template functions, bound to one language's catalog.
// None of them returns template.HTML, template.URL or template.JS: every
// value reaches the page through html/template's contextual escaping.
func (h *Handler) funcs(c catalog) template.FuncMap {
	return template.FuncMap{
		// t translates a catalog key.
		"t": c.t,
		// tk translates a key built from a prefix and a value
		// (status.new, channel.whatsapp, …), falling back to the value.
		"tk": func(prefix string, v any) string {
			key := prefix + "." + fmt.Sprint(v)
			if c.has(key) || c.fallback[key] != "" {
				return c.t(key)
			}
			return fmt.Sprint(v)
		},
		"u":     func(elem ...string) string { return h.p(elem...) },
		"asset": func(name string) string { return h.p("assets", name) + "?v=" + h.assets[name] },
		"iso": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return v.UTC().Format(time.RFC3339)
			case *time.Time:
				if v != nil {
					return v.UTC().Format(time.RFC3339)
				}
			}
			return ""
		},
		// when is a time as the server writes it (UTC); the browser
		// rewrites every <time> in the reader's zone and language.
		"when": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				return v.UTC().Format("2006-01-02 15:04")
			case *time.Time:
				if v != nil {
					return v.UTC().Format("2006-01-02 15:04")
				}
			}
			return ""
		},
		"deref": func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		},
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"seq": func(n int) []int {
			out := make([]int, n)
			for i := range out {
				out[i] = i + 1
			}
			return out
		},
		"add": func(a, b int) int { return a + b },
		// at is list[i], or "" past its end.
		"at": func(list []string, i int) string {
			if i < 0 || i >= len(list) {
				return ""
			}
			return list[i]
		},
		"join":     strings.Join,
		"contains": func(list []string, v string) bool { return contains(list, v) },
		"query":    url.QueryEscape,
		"initials": initials,
		"duration": func(sec float64) string { return humanDuration(c, sec) },
	}
}

func contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// initials are the first letters of a name's first two words (avatars).
func initials(name string) string {
	var out []rune
	for _, w := range strings.Fields(name) {
		for _, r := range w {
			out = append(out, r)
			break
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return strings.ToUpper(string(out))
}

// humanDuration writes seconds as "42 s", "5 min", "3 h 20 min", "2 d 4 h".
func humanDuration(c catalog, sec float64) string {
	s := int64(sec + 0.5)
	switch {
	case s < 60:
		return c.t("unit.seconds", s)
	case s < 3600:
		return c.t("unit.minutes", s/60)
	case s < 86400:
		return c.t("unit.hours_minutes", s/3600, (s%3600)/60)
	}
	return c.t("unit.days_hours", s/86400, (s%86400)/3600)
}
