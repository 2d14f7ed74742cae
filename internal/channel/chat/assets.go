package chat

import (
	"embed"
	"encoding/json"
	"html/template"
	"net/http"
	"strings"
)

// assets are the widget's script, stylesheet and the demo page (read-only).
//
//go:embed assets/widget.js assets/widget.css assets/demo.html
var assets embed.FS

// buildAssets makes the served script: widget.js with its stylesheet
// inlined and its version (a hash of both) filled in.
func (a *Adapter) buildAssets() {
	js, err := assets.ReadFile("assets/widget.js")
	if err != nil {
		panic("chat: embedded widget.js: " + err.Error())
	}
	css, err := assets.ReadFile("assets/widget.css")
	if err != nil {
		panic("chat: embedded widget.css: " + err.Error())
	}
	a.version = shortHash(append(append([]byte{}, js...), css...))
	cssJSON, _ := json.Marshal(string(css))
	out := strings.Replace(string(js), `"__PARLEY_CSS__"`, string(cssJSON), 1)
	out = strings.Replace(out, `"__PARLEY_VERSION__"`, `"`+a.version+`"`, 1)
	a.widgetJS = []byte(out)
	demo, err := assets.ReadFile("assets/demo.html")
	if err != nil {
		panic("chat: embedded demo.html: " + err.Error())
	}
	a.demo = demo
}

// serveWidget serves /widget.js: immutable for a year when asked with
// ?v=<Version>, otherwise revalidated every five minutes (ETag).
func (a *Adapter) serveWidget(w http.ResponseWriter, r *http.Request) {
	etag := `"` + a.version + `"`
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("ETag", etag)
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if v := r.URL.Query().Get("v"); v == a.version {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "public, max-age=300, must-revalidate")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.widgetJS)
}

// DemoSite serves GET /demo/site?poc=<point of contact id>: a small shop
// page embedding the widget, for trying the chat against one's own inbox.
// Mount it only in demo mode.
func (a *Adapter) DemoSite() http.Handler {
	tmpl := template.Must(template.New("demo").Parse(string(a.demo)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		poc := r.URL.Query().Get("poc")
		if len(poc) > 64 {
			poc = ""
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = tmpl.Execute(w, map[string]any{"PoC": poc, "Version": a.version, "Identity": r.URL.Query().Get("identity_token")})
	})
}
