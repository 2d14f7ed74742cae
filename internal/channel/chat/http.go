package chat

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Handler serves the widget script and the visitor API (see the package
// documentation for the paths). Mount it at "/chat/" and "/widget.js".
func (a *Adapter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /widget.js", a.serveWidget)
	mux.HandleFunc("GET /chat/{poc}/config", a.withPoint(a.serveConfig))
	mux.HandleFunc("POST /chat/{poc}/session", a.withPoint(a.serveSession))
	mux.HandleFunc("GET /chat/{poc}/history", a.withPoint(a.serveHistory))
	mux.HandleFunc("POST /chat/{poc}/upload", a.withPoint(a.serveUpload))
	mux.HandleFunc("GET /chat/{poc}/ws", a.withPoint(a.serveWS))
	mux.HandleFunc("OPTIONS /chat/{poc}/{what}", a.withPoint(func(w http.ResponseWriter, r *http.Request, p *point) {
		w.WriteHeader(http.StatusNoContent)
	}))
	return mux
}

// point is a request's point of contact with its parsed settings.
type point struct {
	poc *channel.PointOfContact
	s   settings
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// withPoint finds the point of contact, checks the Origin and answers CORS.
// Cross-site requests are accepted only from allowed origins; POST and
// WebSocket requests must carry an Origin (browsers always do).
func (a *Adapter) withPoint(h func(http.ResponseWriter, *http.Request, *point)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Origin")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		id := r.PathValue("poc")
		if a.points == nil || id == "" || len(id) > 64 {
			writeError(w, http.StatusNotFound, "no such chat")
			return
		}
		poc, err := a.points(r.Context(), id)
		if err != nil || poc.Type != Type {
			writeError(w, http.StatusNotFound, "no such chat")
			return
		}
		s, err := parseSettings(poc.Settings, false)
		if err != nil {
			writeError(w, http.StatusServiceUnavailable, "chat misconfigured")
			return
		}
		origin := r.Header.Get("Origin")
		if origin == "" {
			if r.Method != http.MethodGet || strings.HasSuffix(r.URL.Path, "/ws") {
				writeError(w, http.StatusForbidden, "origin required")
				return
			}
		} else if !a.originAllowed(r, s, origin) {
			writeError(w, http.StatusForbidden, "origin not allowed for this chat")
			return
		} else {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type")
				w.Header().Set("Access-Control-Max-Age", "600")
			}
		}
		h(w, r, &point{poc: &poc, s: s})
	}
}

// originAllowed: the point of contact's allowed origins, any origin when
// allow_any_origin, and Parley's own origin (PublicURL, or the request's
// own host: pages Parley serves itself, like the demo site).
func (a *Adapter) originAllowed(r *http.Request, s settings, origin string) bool {
	if s.AnyOrigin {
		return true
	}
	n, err := normalOrigin(origin)
	if err != nil {
		return false
	}
	for _, o := range s.Origins {
		if o == n {
			return true
		}
	}
	if a.publicURL != "" {
		if p, err := normalOrigin(a.publicURL); err == nil && p == n {
			return true
		}
	}
	u, _ := url.Parse(n)
	return u != nil && strings.EqualFold(u.Host, r.Host)
}

// ---- config ----

// Accepted upload types (the widget's file input accept attribute).
const acceptAttr = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,.txt,.csv,.pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.odt,.ods,.odp,.rtf"

func (a *Adapter) serveConfig(w http.ResponseWriter, r *http.Request, p *point) {
	var form *PrechatForm
	if p.s.Prechat.Enabled {
		form = &p.s.Prechat
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"point_of_contact": p.poc.ID, "title": p.s.Title, "greeting": p.s.Greeting, "prechat_form": form,
		"max_message_length": p.s.MaxMessageLength, "max_upload_bytes": MaxUploadBytes, "accept": acceptAttr,
		"version": a.version,
	})
}

// ---- session ----

type sessionRequest struct {
	Token         string            `json:"token"`
	IdentityToken string            `json:"identity_token"`
	Prechat       map[string]string `json:"prechat"`
}

var phoneRE = regexp.MustCompile(`^\+?[0-9 ().-]{5,32}$`)

func (a *Adapter) serveSession(w http.ResponseWriter, r *http.Request, p *point) {
	if !a.ipSessions.allow(a.clientIP(r)) {
		writeError(w, http.StatusTooManyRequests, "too many sessions from this address")
		return
	}
	secret := p.poc.Credential(CredentialIdentitySecret)
	if secret == "" {
		writeError(w, http.StatusServiceUnavailable, "chat misconfigured")
		return
	}
	var in sessionRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 32<<10))
	if err := dec.Decode(&in); err != nil && !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "a JSON object {token, identity_token, prechat}")
		return
	}
	now := a.now()
	var s session
	if in.Token != "" {
		old, err := verifySession(secret, p.poc.ID, in.Token, now)
		if err == nil || (errors.Is(err, ErrExpiredToken) && now.Unix() < old.Expires+int64(SessionRenewGrace/time.Second)) {
			s = old
		}
	}
	newInfo := false
	if in.IdentityToken != "" {
		id, err := VerifyIdentityToken(secret, in.IdentityToken, now)
		if err != nil {
			writeError(w, http.StatusUnauthorized, "identity token: "+err.Error())
			return
		}
		vid := "id:" + id.Subject
		if s.VisitorID != vid {
			s = session{VisitorID: vid}
		}
		s.Verified = true
		if id.Name != "" {
			s.Name = id.Name
		}
		if id.Email != "" {
			s.Email = id.Email
		}
		newInfo = true
	} else if s.Verified {
		// The page no longer vouches for this visitor (signed out, or a
		// shared computer): never hand a verified thread to whoever is next.
		s = session{}
	}
	if s.VisitorID == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		s.VisitorID = "v_" + base64.RawURLEncoding.EncodeToString(b)
	}
	var fields map[string]string
	phone := ""
	if in.Prechat != nil {
		var err error
		fields, err = checkPrechat(p.s.Prechat, in.Prechat)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		for _, f := range p.s.Prechat.Fields {
			v := fields[f.Name]
			switch {
			case v == "":
			case f.Type == "email" && !s.Verified:
				s.Email = v
			case f.Type == "phone":
				phone = v
			case f.Name == "name" && !s.Verified:
				s.Name = clip(v, 200)
			}
		}
		s.Prechat = true
		newInfo = true
	}
	s.PoC, s.IssuedAt, s.Expires = p.poc.ID, now.Unix(), now.Add(SessionTTL).Unix()
	token := signSession(secret, s)
	if newInfo {
		if s.Email != "" {
			a.hub.rememberEmail(p.poc.ID, s.VisitorID, s.Email)
			if a.state != nil {
				if err := a.state.Save(r.Context(), p.poc.ID, stateKeyEmail(s.VisitorID), s.Email); err != nil {
					a.log.Warn("chat: save visitor email", "point_of_contact", p.poc.ID, "err", err)
				}
			}
		}
		if a.onVisitor != nil {
			a.onVisitor(r.Context(), p.poc, Visitor{ID: s.VisitorID, Name: s.Name, Email: s.Email, Phone: phone, Fields: fields, Verified: s.Verified})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"visitor_id": s.VisitorID, "token": token, "expires_at": time.Unix(s.Expires, 0).UTC(),
		"name": s.Name, "email": s.Email, "verified": s.Verified,
		"prechat_needed": p.s.Prechat.Enabled && !s.Prechat && !s.Verified,
	})
}

// checkPrechat validates pre-chat answers against the form.
func checkPrechat(form PrechatForm, in map[string]string) (map[string]string, error) {
	out := map[string]string{}
	known := map[string]PrechatField{}
	for _, f := range form.Fields {
		known[f.Name] = f
	}
	for k := range in {
		if _, ok := known[k]; !ok {
			return nil, errors.New("prechat." + k + ": not a field of this form")
		}
	}
	for _, f := range form.Fields {
		v := strings.TrimSpace(in[f.Name])
		if !utf8.ValidString(v) || utf8.RuneCountInString(v) > 256 || hasControl(v) {
			return nil, errors.New("prechat." + f.Name + ": at most 256 characters")
		}
		if v == "" {
			if f.Required {
				return nil, errors.New("prechat." + f.Name + ": required")
			}
			continue
		}
		switch f.Type {
		case "email":
			e, ok := normalEmail(v)
			if !ok {
				return nil, errors.New("prechat." + f.Name + ": not an email address")
			}
			v = e
		case "phone":
			if !phoneRE.MatchString(v) {
				return nil, errors.New("prechat." + f.Name + ": not a phone number")
			}
		}
		out[f.Name] = v
	}
	return out, nil
}

// visitorSession reads the ?token= of a request; it must be current.
func (a *Adapter) visitorSession(r *http.Request, p *point) (session, bool) {
	s, err := verifySession(p.poc.Credential(CredentialIdentitySecret), p.poc.ID, r.URL.Query().Get("token"), a.now())
	return s, err == nil
}

// ---- history ----

func (a *Adapter) serveHistory(w http.ResponseWriter, r *http.Request, p *point) {
	s, ok := a.visitorSession(r, p)
	if !ok {
		writeError(w, http.StatusUnauthorized, "session expired")
		return
	}
	limit := historyLimit
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 && n < limit {
		limit = n
	}
	msgs, err := a.loadHistory(r.Context(), p.poc.ID, s.VisitorID, limit)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "history unavailable, retry")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs})
}

func (a *Adapter) loadHistory(ctx context.Context, pocID, visitorID string, limit int) ([]messageFrame, error) {
	out := []messageFrame{}
	if a.history == nil {
		return out, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hs, err := a.history.ThreadHistory(ctx, pocID, visitorID, limit)
	if err != nil {
		a.log.Warn("chat: history", "point_of_contact", pocID, "err", err)
		return nil, err
	}
	for _, m := range hs {
		out = append(out, a.historyFrame(m))
	}
	return out, nil
}

// ---- upload ----

func (a *Adapter) serveUpload(w http.ResponseWriter, r *http.Request, p *point) {
	s, ok := a.visitorSession(r, p)
	if !ok {
		writeError(w, http.StatusUnauthorized, "session expired")
		return
	}
	if !a.visitorUploads.allow(p.poc.ID+"\x00"+s.VisitorID) || !a.ipMsgs.allow(a.clientIP(r)) {
		writeError(w, http.StatusTooManyRequests, "too many uploads, wait a little")
		return
	}
	ing := a.ingestor()
	if ing == nil {
		writeError(w, http.StatusServiceUnavailable, "chat unavailable")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+64<<10)
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, http.StatusBadRequest, "a multipart/form-data body with a file")
		return
	}
	var clientID, name string
	var data []byte
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, "files are limited to 10 MiB")
			return
		}
		switch part.FormName() {
		case "client_id":
			b, _ := io.ReadAll(io.LimitReader(part, 65))
			clientID = string(b)
		case "file":
			if data != nil {
				writeError(w, http.StatusBadRequest, "one file per upload")
				return
			}
			name = part.FileName()
			var buf bytes.Buffer
			n, err := io.Copy(&buf, io.LimitReader(part, MaxUploadBytes+1))
			if err != nil {
				writeError(w, http.StatusRequestEntityTooLarge, "files are limited to 10 MiB")
				return
			}
			if n > MaxUploadBytes {
				writeError(w, http.StatusRequestEntityTooLarge, "files are limited to 10 MiB")
				return
			}
			data = buf.Bytes()
		}
		part.Close()
	}
	if !clientIDRE.MatchString(clientID) {
		writeError(w, http.StatusBadRequest, "client_id: 8 to 64 of [A-Za-z0-9_-]")
		return
	}
	if len(data) == 0 {
		writeError(w, http.StatusBadRequest, "file required (not empty)")
		return
	}
	name = safeFileName(name)
	mimeType, err := checkUpload(name, data)
	if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, err.Error())
		return
	}
	ev := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: platformID(s.VisitorID, clientID),
		ThreadID: s.VisitorID, ThreadName: s.Name, AuthorID: s.VisitorID, AuthorName: s.Name, SentAt: a.now(),
		Attachments: []channel.InboundAttachment{{Data: data, MimeType: mimeType, Name: name}}}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	res, err := ing.Ingest(ctx, p.poc, []channel.InboundEvent{ev})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		a.log.Warn("chat: ingest upload", "point_of_contact", p.poc.ID, "err", errors.Join(err, firstErr(res)))
		writeError(w, http.StatusServiceUnavailable, "could not store the file, retry")
		return
	}
	mf := messageFrame{ID: res[0].MessageID, ClientID: clientID, Direction: "inbound", AuthorType: "contact", Status: "received",
		CreatedAt: a.now().UTC(), Attachments: []attachmentFrame{{Name: name, MimeType: mimeType}}}
	a.hub.broadcast(p.poc.ID, s.VisitorID, encodeMessage(mf), nil)
	writeJSON(w, http.StatusOK, map[string]any{"message_id": res[0].MessageID, "client_id": clientID, "name": name, "mime_type": mimeType})
}

func firstErr(res []channel.IngestResult) error {
	for _, r := range res {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}

func safeFileName(n string) string {
	n = strings.ReplaceAll(n, "\\", "/")
	if i := strings.LastIndexByte(n, '/'); i >= 0 {
		n = n[i+1:]
	}
	n = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return -1
		}
		return r
	}, n)
	n = clip(n, 200)
	if n == "" || n == "." || n == ".." {
		n = "file"
	}
	return n
}

// uploadType maps an accepted extension to its media type and the type
// content sniffing must find ("ole" for legacy Office compound files).
func uploadType(ext string) (mediaType, sniffed string, ok bool) {
	switch ext {
	case ".png":
		return "image/png", "image/png", true
	case ".jpg", ".jpeg":
		return "image/jpeg", "image/jpeg", true
	case ".gif":
		return "image/gif", "image/gif", true
	case ".webp":
		return "image/webp", "image/webp", true
	case ".pdf":
		return "application/pdf", "application/pdf", true
	case ".txt":
		return "text/plain", "text/plain", true
	case ".csv":
		return "text/csv", "text/plain", true
	case ".rtf":
		return "application/rtf", "text/plain", true
	case ".doc":
		return "application/msword", "ole", true
	case ".xls":
		return "application/vnd.ms-excel", "ole", true
	case ".ppt":
		return "application/vnd.ms-powerpoint", "ole", true
	case ".docx":
		return "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "application/zip", true
	case ".xlsx":
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip", true
	case ".pptx":
		return "application/vnd.openxmlformats-officedocument.presentationml.presentation", "application/zip", true
	case ".odt":
		return "application/vnd.oasis.opendocument.text", "application/zip", true
	case ".ods":
		return "application/vnd.oasis.opendocument.spreadsheet", "application/zip", true
	case ".odp":
		return "application/vnd.oasis.opendocument.presentation", "application/zip", true
	}
	return "", "", false
}

// checkUpload decides a file's media type from its name and its bytes:
// the extension must be accepted and the content must look like it.
// Executables are refused whatever their name.
func checkUpload(name string, data []byte) (string, error) {
	if looksExecutable(data) {
		return "", errors.New("executable files are not accepted")
	}
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ext = strings.ToLower(name[i:])
	}
	mediaType, want, ok := uploadType(ext)
	if !ok {
		return "", errors.New("accepted files: images (png, jpeg, gif, webp), pdf, office documents, text")
	}
	sniffed := http.DetectContentType(data)
	if i := strings.IndexByte(sniffed, ';'); i >= 0 {
		sniffed = sniffed[:i]
	}
	switch want {
	case "ole":
		if !bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
			return "", errors.New("the file's content does not match its name")
		}
	default:
		if sniffed != want {
			return "", errors.New("the file's content does not match its name")
		}
	}
	return mediaType, nil
}

func looksExecutable(b []byte) bool {
	for _, magic := range [][]byte{
		[]byte("MZ"), []byte("\x7fELF"), []byte("#!"),
		{0xFE, 0xED, 0xFA, 0xCE}, {0xFE, 0xED, 0xFA, 0xCF}, {0xCE, 0xFA, 0xED, 0xFE}, {0xCF, 0xFA, 0xED, 0xFE}, {0xCA, 0xFE, 0xBA, 0xBE},
		[]byte("\x00asm"),
	} {
		if bytes.HasPrefix(b, magic) {
			return true
		}
	}
	return false
}
