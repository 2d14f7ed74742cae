package content

import (
	"strings"
	"testing"

	xhtml "golang.org/x/net/html"
)

// xssVectors are the usual suspects (OWASP's filter evasion cheat sheet,
// abridged): script tags, event handlers, javascript:/data:/vbscript: URLs
// and their encoded variants, SVG and MathML, CSS expressions, nested and
// malformed tags.
var xssVectors = []string{
	`<script>alert(1)</script>`,
	`<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>`,
	`<scr<script>ipt>alert(1)</scr</script>ipt>`,
	`<img src=x onerror=alert(1)>`,
	`<img src="x" OnErRoR="alert(1)">`,
	`<body onload=alert(1)>`,
	`<div onmouseover="alert(1)">hover</div>`,
	`<a href="javascript:alert(1)">x</a>`,
	`<a href="JaVaScRiPt:alert(1)">x</a>`,
	`<a href=" javascript:alert(1)">x</a>`,
	`<a href="jav&#x09;ascript:alert(1)">x</a>`,
	`<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>`,
	`<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>`,
	`<a href="javascript&colon;alert(1)">x</a>`,
	`<a href="vbscript:msgbox(1)">x</a>`,
	`<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>`,
	`<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">`,
	`<svg onload=alert(1)>`,
	`<svg><script>alert(1)</script></svg>`,
	`<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>`,
	`<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>`,
	`<div style="width: expression(alert(1))">x</div>`,
	`<div style="background:url(javascript:alert(1))">x</div>`,
	`<style>body{background:url("javascript:alert(1)")}</style>`,
	`<link rel=stylesheet href=https://xss.example/x.css>`,
	`<iframe src="javascript:alert(1)"></iframe>`,
	`<iframe srcdoc="<script>alert(1)</script>"></iframe>`,
	`<object data="javascript:alert(1)"></object>`,
	`<embed src="javascript:alert(1)">`,
	`<form action="javascript:alert(1)"><input type=submit></form>`,
	`<button formaction="javascript:alert(1)">x</button>`,
	`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`,
	`<base href="javascript:alert(1)//">`,
	`<details open ontoggle=alert(1)>`,
	`<video><source onerror="alert(1)"></video>`,
	`<a href="https://ok.example" onclick="alert(1)">ok</a>`,
	`<<img src=x onerror=alert(1)//<`,
	`<img """><script>alert(1)</script>">`,
	`<IMG SRC=javascript:alert('XSS')>`,
	`<img src=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)>`,
	`<p><b><i><a href="javascript:alert(1)">nested</i></b></p>`,
	`<!--<script>alert(1)</script>-->`,
	`<noscript><p title="</noscript><img src=x onerror=alert(1)>">`,
	`[click](javascript:alert(1))`,
	`![x](javascript:alert(1))`,
	`[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
	`<javascript:alert(1)>`,
}

func TestXSSThroughHTMLPath(t *testing.T) {
	for _, v := range xssVectors {
		for _, typ := range []Type{TypeHTML, TypeMarkdown} {
			for _, ch := range []string{ChannelEmail, ChannelChat} {
				r, err := Render(ch, Content{Type: typ, Text: v}, testOpts())
				if err != nil {
					t.Fatalf("%s %s %q: %v", ch, typ, v, err)
				}
				if problem := executable(r.HTML); problem != "" {
					t.Errorf("%s %s %q → %q: %s", ch, typ, v, r.HTML, problem)
				}
			}
		}
	}
}

// executable parses HTML as a browser would and reports anything that could
// run script or load active content.
func executable(h string) string {
	doc, err := xhtml.Parse(strings.NewReader(h))
	if err != nil {
		return "unparseable: " + err.Error()
	}
	var problem string
	var walk func(n *xhtml.Node)
	walk = func(n *xhtml.Node) {
		if problem != "" {
			return
		}
		if n.Type == xhtml.ElementNode {
			switch n.Data {
			case "script", "style", "iframe", "object", "embed", "svg", "math", "form", "input", "button",
				"base", "meta", "link", "frame", "frameset", "applet", "template", "noscript":
				problem = "element <" + n.Data + ">"
				return
			}
			for _, a := range n.Attr {
				k := strings.ToLower(a.Key)
				if strings.HasPrefix(k, "on") || k == "style" || k == "srcdoc" || k == "formaction" || a.Namespace != "" {
					problem = "attribute " + a.Key
					return
				}
				if k == "href" || k == "src" || k == "action" || k == "xlink:href" {
					u := strings.ToLower(strings.TrimSpace(a.Val))
					if !(strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "mailto:") || strings.HasPrefix(u, "tel:")) {
						problem = "url " + a.Val
						return
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return problem
}

// The executable check itself must catch what it is meant to catch.
func TestExecutableDetector(t *testing.T) {
	for _, bad := range []string{`<script>x</script>`, `<img src=x onerror=y>`, `<a href="javascript:x">a</a>`, `<svg></svg>`, `<p style="x">a</p>`} {
		if executable(bad) == "" {
			t.Errorf("detector missed %q", bad)
		}
	}
	if p := executable(`<p><a href="https://ok.example" rel="nofollow">ok</a></p>`); p != "" {
		t.Errorf("false positive: %s", p)
	}
}
