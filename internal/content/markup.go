package content

import (
	"bytes"
	"html"
	"regexp"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// sanitizeHTML is the only way HTML from content reaches a customer: a
// bluemonday user-generated-content policy (no scripts, no event handlers,
// no style, no forms, no iframes/SVG), links limited to http, https, mailto
// and tel, rel="nofollow noopener" and target=_blank on absolute links.
// The policy is built per call: it is cheap next to sending a message and
// keeps the package free of shared mutable state.
func sanitizeHTML(src string) string {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("http", "https", "mailto", "tel")
	p.AllowRelativeURLs(false) // email and chat have no base URL to resolve them against
	p.RequireNoFollowOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.RequireNoReferrerOnLinks(true)
	return strings.TrimSpace(p.Sanitize(src))
}

// markdownToHTML renders CommonMark (plus GitHub tables, strikethrough and
// autolinks) to HTML. Raw HTML in the source is dropped by goldmark's
// default (unsafe off) and the result is sanitised again anyway.
func markdownToHTML(src string) string {
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	var buf bytes.Buffer
	if err := md.Convert([]byte(src), &buf); err != nil {
		return sanitizeHTML(html.EscapeString(src))
	}
	return sanitizeHTML(buf.String())
}

// htmlToText turns sanitised HTML into readable plain text; with markup it
// writes WhatsApp's own formatting (*bold*, _italic_, ~strike~, ```code```).
func htmlToText(src string, markup bool) string {
	nodes, err := xhtml.ParseFragment(strings.NewReader(src), &xhtml.Node{Type: xhtml.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return strings.TrimSpace(src)
	}
	w := &textWriter{markup: markup}
	for _, n := range nodes {
		w.node(n, 0)
	}
	return w.result()
}

type textWriter struct {
	b      strings.Builder
	markup bool
	pre    int
}

func (w *textWriter) newline(count int) {
	s := w.b.String()
	have := len(s) - len(strings.TrimRight(s, "\n"))
	if len(s) == 0 {
		return
	}
	for ; have < count; have++ {
		w.b.WriteByte('\n')
	}
}

func (w *textWriter) wrap(n *xhtml.Node, depth int, mark string) {
	if !w.markup {
		w.children(n, depth)
		return
	}
	inner := &textWriter{markup: true, pre: w.pre}
	inner.children(n, depth)
	text := inner.b.String()
	core := strings.TrimSpace(text)
	if core == "" || strings.Contains(core, "\n") {
		w.b.WriteString(text)
		return
	}
	lead := text[:strings.Index(text, core)]
	trail := text[len(lead)+len(core):]
	w.b.WriteString(lead + mark + core + mark + trail)
}

func (w *textWriter) children(n *xhtml.Node, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c, depth+1)
	}
}

var spaceRun = regexp.MustCompile(`[ \t\r\n\f]+`)

func (w *textWriter) node(n *xhtml.Node, depth int) {
	if depth > 200 {
		return
	}
	switch n.Type {
	case xhtml.TextNode:
		t := n.Data
		if w.pre == 0 {
			t = spaceRun.ReplaceAllString(t, " ")
			s := w.b.String()
			if strings.HasPrefix(t, " ") && (s == "" || strings.HasSuffix(s, " ") || strings.HasSuffix(s, "\n")) {
				t = t[1:]
			}
		}
		w.b.WriteString(t)
		return
	case xhtml.ElementNode:
	default:
		w.children(n, depth)
		return
	}
	switch n.Data {
	case "script", "style", "head", "title", "template", "noscript":
		return
	case "br":
		w.b.WriteByte('\n')
	case "p", "div", "blockquote", "table", "section", "article", "header", "footer", "dl":
		w.newline(2)
		w.children(n, depth)
		w.newline(2)
	case "h1", "h2", "h3", "h4", "h5", "h6":
		w.newline(2)
		w.wrap(n, depth, "*")
		w.newline(2)
	case "tr", "dt", "dd", "hr":
		w.newline(1)
		w.children(n, depth)
		w.newline(1)
	case "ul", "ol":
		w.newline(1)
		i := 0
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == xhtml.ElementNode && c.Data == "li" {
				i++
				w.newline(1)
				if n.Data == "ol" {
					w.b.WriteString(itoa(i) + ". ")
				} else {
					w.b.WriteString("- ")
				}
				w.children(c, depth+1)
			} else {
				w.node(c, depth+1)
			}
		}
		w.newline(1)
	case "li":
		w.newline(1)
		w.b.WriteString("- ")
		w.children(n, depth)
	case "b", "strong":
		w.wrap(n, depth, "*")
	case "i", "em":
		w.wrap(n, depth, "_")
	case "s", "strike", "del":
		w.wrap(n, depth, "~")
	case "code", "kbd", "samp", "tt":
		if w.pre > 0 {
			w.children(n, depth)
		} else {
			w.wrap(n, depth, "`")
		}
	case "pre":
		w.newline(2)
		w.pre++
		if w.markup {
			w.b.WriteString("```")
			w.children(n, depth)
			w.b.WriteString("```")
		} else {
			w.children(n, depth)
		}
		w.pre--
		w.newline(2)
	case "a":
		inner := &textWriter{markup: w.markup, pre: w.pre}
		inner.children(n, depth)
		text := strings.TrimSpace(inner.b.String())
		href := attr(n, "href")
		w.b.WriteString(text)
		if href != "" && href != text && (strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "mailto:") || strings.HasPrefix(href, "tel:")) {
			if text == "" {
				w.b.WriteString(href)
			} else {
				w.b.WriteString(" (" + href + ")")
			}
		}
	case "img":
		if alt := attr(n, "alt"); alt != "" {
			w.b.WriteString(alt)
		}
	case "td", "th":
		w.children(n, depth)
		w.b.WriteByte('\t')
	default:
		w.children(n, depth)
	}
}

func attr(n *xhtml.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

var manyNewlines = regexp.MustCompile(`\n{3,}`)

func (w *textWriter) result() string {
	lines := strings.Split(w.b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	s := strings.Join(lines, "\n")
	return strings.TrimSpace(manyNewlines.ReplaceAllString(s, "\n\n"))
}

var urlInText = regexp.MustCompile(`https?://[^\s<>"']+`)

// textToHTML turns plain text into safe HTML for an email's HTML part:
// everything escaped, line breaks kept, https/http URLs made links.
func textToHTML(text string) string {
	var b strings.Builder
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("<p>")
		for j, line := range strings.Split(para, "\n") {
			if j > 0 {
				b.WriteString("<br>\n")
			}
			last := 0
			for _, m := range urlInText.FindAllStringIndex(line, -1) {
				b.WriteString(html.EscapeString(line[last:m[0]]))
				u := strings.TrimRight(line[m[0]:m[1]], ".,;:!?)")
				esc := html.EscapeString(u)
				b.WriteString(`<a href="` + esc + `" rel="nofollow noopener noreferrer" target="_blank">` + esc + `</a>`)
				last = m[0] + len(u)
			}
			b.WriteString(html.EscapeString(line[last:]))
		}
		b.WriteString("</p>")
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }
