package ui

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The UI's languages; the first is the default and the fallback for a
// missing key.
const defaultLang = "en"

// languages lists the supported languages (a new slice each call).
func languageList() []string { return []string{"en", "fr"} }

// catalog maps a message key to its text in one language. Texts may hold
// fmt verbs (%s, %d) filled from the template's arguments.
type catalog struct {
	lang     string
	msgs     map[string]string
	fallback map[string]string
}

type catalogs map[string]catalog

// loadCatalogs reads i18n/<lang>.json and every i18n/<area>.<lang>.json for
// every language (one file per area of the UI keeps parallel work apart). A
// key defined twice for one language is an error.
func loadCatalogs(fsys fs.FS) (catalogs, error) {
	raw := map[string]map[string]string{}
	for _, lang := range languageList() {
		names, err := fs.Glob(fsys, "i18n/*."+lang+".json")
		if err != nil {
			return nil, err
		}
		names = append([]string{"i18n/" + lang + ".json"}, names...)
		m := map[string]string{}
		for _, name := range names {
			b, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, err
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("ui: catalog %s: %w", name, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("ui: catalog %s: key %q defined twice", name, k)
				}
				m[k] = v
			}
		}
		raw[lang] = m
	}
	out := catalogs{}
	for lang, m := range raw {
		out[lang] = catalog{lang: lang, msgs: m, fallback: raw[defaultLang]}
	}
	return out, nil
}

// t returns the text of key, formatted with args; a key missing from the
// language falls back to English, then to the key itself (visible, so a
// test notices).
func (c catalog) t(key string, args ...any) string {
	s, ok := c.msgs[key]
	if !ok {
		if s, ok = c.fallback[key]; !ok {
			return key
		}
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// has reports whether the catalog defines key.
func (c catalog) has(key string) bool {
	_, ok := c.msgs[key]
	return ok
}

// keys lists the catalog's keys, sorted.
func (c catalog) keys() []string {
	out := make([]string, 0, len(c.msgs))
	for k := range c.msgs {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func supported(lang string) bool {
	for _, l := range languageList() {
		if l == lang {
			return true
		}
	}
	return false
}

// language picks the request's language: the user's choice (cookie), else
// the browser's Accept-Language, else English.
func (h *Handler) language(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil && supported(c.Value) {
		return c.Value
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

// negotiate returns the supported language the Accept-Language header
// prefers most (RFC 9110 §12.5.4: quality values; primary subtags).
func negotiate(header string) string {
	best, bestQ := defaultLang, -1.0
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if q <= 0 || !supported(primary) {
			continue
		}
		// Earlier entries win ties.
		if q > bestQ || (q == bestQ && i == 0) {
			best, bestQ = primary, q
		}
	}
	return best
}

// setLang stores the user's choice of language and goes back.
func (h *Handler) setLang(w http.ResponseWriter, r *http.Request) {
	lang := r.FormValue("lang")
	if !supported(lang) {
		lang = defaultLang
	}
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, Secure: true, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, h.localPath(r.FormValue("next")), http.StatusSeeOther)
}
