package email

import (
	"regexp"
	"strings"

	xhtml "golang.org/x/net/html"
)

// Markers where quoted history starts: "On … wrote:" (and its French,
// German, Spanish, Dutch and Italian forms), forwarded or original message
// separators, and Outlook's header block.
var (
	attributionRE = regexp.MustCompile(`(?i)^(on\s.{1,300}\swrote:|le\s.{1,300}\sa\s[ée]crit\s?:|am\s.{1,300}\sschrieb\s.{0,200}:|el\s.{1,300}\sescribi[óo]:|op\s.{1,300}\sschreef\s.{0,200}:|il\s.{1,300}\sha\sscritto:)\s*$`)
	separatorRE   = regexp.MustCompile(`(?i)^(-{2,}\s*(original message|message d'origine|ursprüngliche nachricht|mensaje original|forwarded message|message transféré|weitergeleitete nachricht)\s*-{2,}|_{20,}|-{20,})\s*$`)
	outlookFromRE = regexp.MustCompile(`(?i)^\*?(from|de|von|van|da)\s?\*?:\s*\S`)
	outlookSentRE = regexp.MustCompile(`(?i)^\*?(sent|envoyé|gesendet|verzonden|inviato|enviado|date|datum)\s?\*?:\s*\S`)
	mobileSigRE   = regexp.MustCompile(`(?i)^(sent from my \w+|envoyé de mon \w+|von meinem \w+ gesendet|get outlook for \w+)`)
)

// trimQuoted removes quoted history and the signature from a plain-text
// body for display: everything from an attribution line ("On … wrote:",
// "Le … a écrit :"), an original-message separator, an Outlook "From: …
// Sent: …" block or the "-- " signature delimiter; lines starting with ">"
// anywhere; and a trailing "Sent from my phone". When nothing would be left
// (a message that is only a quote), the text is returned whole.
func trimQuoted(text string) string {
	lines := strings.Split(text, "\n")
	cut := len(lines)
	for i := 0; i < len(lines) && cut == len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		trimmed := strings.TrimSpace(line)
		switch {
		case line == "--" || lines[i] == "-- " || line == "-- ":
			cut = i
		case separatorRE.MatchString(trimmed):
			cut = i
		case attributionRE.MatchString(trimmed):
			cut = i
		case i+1 < len(lines) && len(trimmed) < 300 && (strings.HasPrefix(strings.ToLower(trimmed), "on ") || strings.HasPrefix(strings.ToLower(trimmed), "le ") || strings.HasPrefix(strings.ToLower(trimmed), "am ")) &&
			attributionRE.MatchString(trimmed+" "+strings.TrimSpace(lines[i+1])):
			// an attribution wrapped over two lines
			cut = i
		case outlookFromRE.MatchString(trimmed):
			for j := i + 1; j < len(lines) && j <= i+4; j++ {
				if outlookSentRE.MatchString(strings.TrimSpace(lines[j])) {
					cut = i
					break
				}
			}
		}
	}
	kept := make([]string, 0, cut)
	for _, l := range lines[:cut] {
		if strings.HasPrefix(strings.TrimLeft(l, " \t"), ">") {
			continue
		}
		kept = append(kept, strings.TrimRight(l, " \t"))
	}
	// A trailing phone signature.
	for n := len(kept) - 1; n >= 0; n-- {
		t := strings.TrimSpace(kept[n])
		if t == "" {
			continue
		}
		if mobileSigRE.MatchString(t) {
			kept = kept[:n]
		}
		break
	}
	out := collapseBlank(strings.Join(kept, "\n"))
	if out == "" {
		return strings.TrimSpace(text)
	}
	return out
}

var blankRunRE = regexp.MustCompile(`\n{3,}`)

func collapseBlank(s string) string {
	return strings.TrimSpace(blankRunRE.ReplaceAllString(s, "\n\n"))
}

// htmlToText turns (sanitised) HTML into readable text: blocks and <br>
// become line breaks, list items get "- ", links keep their URL, and
// blockquotes are written as "> " lines so trimQuoted removes them.
func htmlToText(src string) string {
	doc, err := xhtml.Parse(strings.NewReader(src))
	if err != nil {
		return ""
	}
	w := &textWriter{}
	w.node(doc, 0)
	return collapseBlank(w.b.String())
}

type textWriter struct {
	b     strings.Builder
	quote int
	bol   bool // at the beginning of a line
	nodes int
}

func (w *textWriter) newline() {
	w.b.WriteString("\n")
	w.bol = true
}

func (w *textWriter) text(s string) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return
	}
	if w.bol {
		w.b.WriteString(strings.Repeat("> ", w.quote))
		w.bol = false
	} else if w.b.Len() > 0 {
		w.b.WriteString(" ")
	}
	w.b.WriteString(s)
}

func (w *textWriter) node(n *xhtml.Node, depth int) {
	w.nodes++
	if depth > 200 || w.nodes > 200_000 || w.b.Len() > MaxTextLength*2 {
		return
	}
	switch n.Type {
	case xhtml.TextNode:
		w.text(n.Data)
		return
	case xhtml.ElementNode:
		switch n.Data {
		case "script", "style", "head", "title":
			return
		case "br":
			w.newline()
			return
		case "blockquote":
			w.newline()
			w.quote++
			w.children(n, depth)
			w.quote--
			w.newline()
			return
		case "li":
			w.newline()
			w.text("-")
		case "p", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "pre", "hr":
			w.newline()
			w.children(n, depth)
			w.newline()
			return
		case "a":
			w.children(n, depth)
			for _, a := range n.Attr {
				if a.Key == "href" && (strings.HasPrefix(a.Val, "http://") || strings.HasPrefix(a.Val, "https://")) && !strings.Contains(textOf(n), a.Val) {
					w.text("(" + a.Val + ")")
				}
			}
			return
		}
	}
	w.children(n, depth)
}

func (w *textWriter) children(n *xhtml.Node, depth int) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.node(c, depth+1)
	}
}

func textOf(n *xhtml.Node) string {
	var b strings.Builder
	var walk func(*xhtml.Node, int)
	walk = func(n *xhtml.Node, d int) {
		if d > 50 || b.Len() > 4096 {
			return
		}
		if n.Type == xhtml.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, d+1)
		}
	}
	walk(n, 0)
	return b.String()
}
