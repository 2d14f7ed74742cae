package ui

import (
	"fmt"
	xhtml "golang.org/x/net/html"
	"html/template"
	"io/fs"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"text/template/parse"
)

// TestCatalogsMatch: both languages have exactly the same keys, the same
// fmt verbs in the same order, and French differs from English wherever a
// translation is expected.
func TestCatalogsMatch(t *testing.T) {
	cats, err := loadCatalogs(files)
	if err != nil {
		t.Fatal(err)
	}
	en, fr := cats["en"], cats["fr"]
	verbs := regexp.MustCompile(`%[a-z]|\{n\}`)
	for _, k := range en.keys() {
		if !fr.has(k) {
			t.Errorf("fr lacks %q", k)
			continue
		}
		if a, b := verbs.FindAllString(en.msgs[k], -1), verbs.FindAllString(fr.msgs[k], -1); strings.Join(a, " ") != strings.Join(b, " ") {
			t.Errorf("%q: verbs %v in English, %v in French", k, a, b)
		}
	}
	for _, k := range fr.keys() {
		if !en.has(k) {
			t.Errorf("en lacks %q", k)
		}
	}
	same := 0
	for _, k := range en.keys() {
		if en.msgs[k] == fr.msgs[k] {
			same++
		}
	}
	if same > len(en.msgs)/5 {
		t.Errorf("%d of %d French texts are the English ones", same, len(en.msgs))
	}
}

// TestTemplatesHaveNoHardCodedText reads every template as HTML, each
// action replaced by a marker: text between tags and the visible
// attributes (placeholder, title, aria-label, alt, label) hold no words of
// their own (every label goes through the catalog); and every key given to
// t exists in the catalogs.
func TestTemplatesHaveNoHardCodedText(t *testing.T) {
	cats, err := loadCatalogs(files)
	if err != nil {
		t.Fatal(err)
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	actions := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	words := regexp.MustCompile(`\p{L}{2,}`)
	allowed := map[string]bool{"Parley": true} // the product's name
	visible := map[string]bool{"placeholder": true, "title": true, "aria-label": true, "alt": true, "label": true}
	keys := 0
	for _, name := range names {
		raw, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		src := actions.ReplaceAllString(string(raw), "\x01")
		z := xhtml.NewTokenizer(strings.NewReader(src))
		for {
			tt := z.Next()
			if tt == xhtml.ErrorToken {
				break
			}
			tok := z.Token()
			var texts []string
			switch tt {
			case xhtml.TextToken:
				// <noscript> comes back as raw text: drop its tags.
				texts = append(texts, regexp.MustCompile(`<[^>]*>`).ReplaceAllString(tok.Data, " "))
			case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
				for _, a := range tok.Attr {
					if visible[a.Key] {
						texts = append(texts, a.Val)
					}
				}
			}
			for _, text := range texts {
				for _, w := range words.FindAllString(text, -1) {
					if !allowed[w] {
						t.Errorf("%s: hard-coded text %q in %q", name, w, strings.TrimSpace(text))
					}
				}
			}
		}
		trees, err := parse.Parse(name, string(raw), "{{", "}}", builtins(), (&Handler{}).funcs(cats["en"]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, tree := range trees {
			if tree.Root == nil {
				continue
			}
			walk(tree.Root, func(n parse.Node) {
				if n, ok := n.(*parse.CommandNode); ok && len(n.Args) >= 2 {
					if id, ok := n.Args[0].(*parse.IdentifierNode); ok && id.Ident == "t" {
						if s, ok := n.Args[1].(*parse.StringNode); ok {
							keys++
							if !cats["en"].has(s.Text) {
								t.Errorf("%s: unknown catalog key %q", name, s.Text)
							}
						}
					}
				}
			})
		}
	}
	if keys < 200 {
		t.Errorf("only %d catalog keys used in templates", keys)
	}
}

// builtins names text/template's predefined functions for parse.Parse.
func builtins() map[string]any {
	m := map[string]any{}
	for _, b := range []string{"and", "or", "not", "eq", "ne", "lt", "le", "gt", "ge", "len", "index", "slice", "print", "printf", "println", "call"} {
		m[b] = fmt.Sprint
	}
	return m
}

func walk(n parse.Node, fn func(parse.Node)) {
	if n == nil {
		return
	}
	fn(n)
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			walk(c, fn)
		}
	case *parse.ActionNode:
		walk(n.Pipe, fn)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			walk(c, fn)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walk(a, fn)
		}
	case *parse.IfNode:
		walk(n.Pipe, fn)
		walk(n.List, fn)
		walk(n.ElseList, fn)
	case *parse.RangeNode:
		walk(n.Pipe, fn)
		walk(n.List, fn)
		walk(n.ElseList, fn)
	case *parse.WithNode:
		walk(n.Pipe, fn)
		walk(n.List, fn)
		walk(n.ElseList, fn)
	case *parse.TemplateNode:
		walk(n.Pipe, fn)
	}
}

func TestNegotiate(t *testing.T) {
	for header, want := range map[string]string{
		"":                                "en",
		"fr-FR,fr;q=0.9,en-US;q=0.8":      "fr",
		"en-GB,en;q=0.9,fr;q=0.8":         "en",
		"de-DE,de;q=0.9,fr;q=0.7,en;q=.5": "fr",
		"de":                              "en",
		"fr;q=0,en":                       "en",
		"FR-ca":                           "fr",
	} {
		if got := negotiate(header); got != want {
			t.Errorf("negotiate(%q) = %q, want %q", header, got, want)
		}
	}
	h := &Handler{}
	r := httptest.NewRequest("GET", "/ui/inbox", nil)
	r.Header.Set("Accept-Language", "fr")
	r.Header.Set("Cookie", LangCookie+"=en")
	if got := h.language(r); got != "en" {
		t.Errorf("the cookie (the user's choice) wins over Accept-Language: %q", got)
	}
}

// TestSafeHref: only absolute http(s) URLs become links.
func TestSafeHref(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/a?b=c": "https://example.com/a?b=c",
		"http://example.com":        "http://example.com",
		"javascript:alert(1)":       "",
		" JavaScript:alert(1)":      "",
		"data:text/html,<b>x</b>":   "",
		"//evil.example/x":          "",
		"vbscript:x":                "",
		"https:///nohost":           "",
	} {
		if got := safeHref(in); got != want {
			t.Errorf("safeHref(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRichPreviewEscapes renders hostile canonical content through the
// real templates: labels stay text; a javascript: option is not a link.
func TestRichPreviewEscapes(t *testing.T) {
	cats, err := loadCatalogs(files)
	if err != nil {
		t.Fatal(err)
	}
	h := &Handler{cats: cats, o: Options{Prefix: "/ui"}, assets: map[string]string{}}
	tmpl, err := template.New("").Funcs(h.funcs(cats["en"])).ParseFS(files, "templates/_*.html")
	if err != nil {
		t.Fatal(err)
	}
	v := rich([]byte(`{"type":"card","title":"<script>alert(1)</script>","text":"<img src=x onerror=alert(2)>",
		"link":{"url":"javascript:alert(3)","title":"go"},"options":[{"id":"a","label":"<b>x</b>","kind":"url","postback":"javascript:alert(4)"}]}`), nil)
	var b strings.Builder
	if err := tmpl.ExecuteTemplate(&b, "rich", v); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, bad := range []string{"<script>", "<img", "<b>x", `href="javascript`} {
		if strings.Contains(out, bad) {
			t.Errorf("rendered %q: %s", bad, out)
		}
	}
	for _, good := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(2)&gt;", "javascript:alert(3)"} {
		if !strings.Contains(out, good) {
			t.Errorf("missing %q: %s", good, out)
		}
	}
}
