package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/blob"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/store"
)

// byocIngress serves the BYOC inbound endpoints; only BYOC points of
// contact answer there.
func (s *Server) byocIngress(w http.ResponseWriter, r *http.Request) {
	s.ingress(w, r, "byoc")
}

// webhook serves every platform's webhooks at /webhooks/{id}.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	s.ingress(w, r, "")
}

// ingress is the inbound pipeline: find the point of contact, let its
// adapter answer a handshake or authenticate the raw body, parse it, store
// attachments, then ingest everything in one transaction and only then
// acknowledge. Nothing is written before authentication succeeds.
func (s *Server) ingress(w http.ResponseWriter, r *http.Request, onlyType string) {
	start := time.Now()
	ctx := r.Context()
	poc, err := s.Points.Lookup(ctx, r.PathValue("pointOfContactID"))
	if err != nil || (onlyType != "" && poc.Type != onlyType) {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.fail(w, r, err)
			return
		}
		problem(w, http.StatusNotFound, "unknown point of contact")
		return
	}
	adapter, ok := s.Registry.Get(poc.Type)
	if !ok {
		problem(w, http.StatusNotFound, "unknown point of contact")
		return
	}
	if hs, ok := adapter.(channel.Handshaker); ok && hs.Handshake(w, r, &poc) {
		return
	}
	recv, ok := adapter.(channel.Receiver)
	if !ok || r.Method != http.MethodPost {
		problem(w, http.StatusMethodNotAllowed, "this point of contact accepts no such request")
		return
	}
	body, err := readBody(w, r, s.opts.MaxBodyBytes)
	if err != nil {
		s.metrics.ingestRejected.WithLabelValues(poc.Type, "too_large").Inc()
		s.fail(w, r, err)
		return
	}
	if err := recv.Authenticate(r, body, &poc); err != nil {
		s.metrics.ingestRejected.WithLabelValues(poc.Type, "unauthenticated").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
		problem(w, http.StatusUnauthorized, "request not authenticated for this point of contact")
		return
	}
	if ct := r.Header.Get("Content-Type"); onlyType == "byoc" && ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			problem(w, http.StatusUnsupportedMediaType, "send application/json")
			return
		}
	}
	events, err := recv.Parse(r, body, &poc)
	if err != nil {
		s.metrics.ingestRejected.WithLabelValues(poc.Type, "malformed").Inc()
		var me *channel.MalformedError
		if errors.As(err, &me) {
			s.fail(w, r, err)
			return
		}
		writeProblem(w, Problem{Status: http.StatusBadRequest, Title: "Malformed request", Detail: err.Error()})
		return
	}
	items := make([]inbox.InboundItem, len(events))
	for i, ev := range events {
		items[i].Event = ev
		if s.Content != nil && len(ev.Content) > 0 && string(ev.Content) != "null" {
			if err := s.Inbox.ValidateContent(ev.Content); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		for j, a := range ev.Attachments {
			field := fmt.Sprintf("attachments[%d]", j)
			f, err := s.receiveAttachment(ctx, adapter, &poc, field, a)
			if err != nil {
				s.metrics.ingestRejected.WithLabelValues(poc.Type, "attachment").Inc()
				s.fail(w, r, err)
				return
			}
			items[i].Files = append(items[i].Files, f)
		}
	}
	results, err := s.Inbox.Ingest(ctx, &poc, items)
	if err != nil {
		// Not acknowledged: the platform retries, and dedupe makes that safe.
		s.log.Error("ingest failed", "point_of_contact", poc.ID, "err", err)
		w.Header().Set("Retry-After", "1")
		problem(w, http.StatusServiceUnavailable, "could not store the message; retry")
		return
	}
	for _, res := range results {
		if res.Event.Kind == channel.EventMessage {
			if res.Duplicate {
				s.metrics.ingestDuplicates.WithLabelValues(poc.Type).Inc()
			} else {
				s.metrics.ingested.WithLabelValues(poc.Type).Inc()
			}
		}
	}
	s.metrics.ingestLatency.WithLabelValues(poc.Type).Observe(time.Since(start).Seconds())
	if resp, ok := adapter.(channel.Responder); ok {
		resp.Respond(w, r, results)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accepted": len(results)})
}

// blockedTypes are never stored: executables and scripts.
var blockedTypes = map[string]bool{
	"application/x-msdownload": true, "application/x-msdos-program": true, "application/x-executable": true,
	"application/x-sh": true, "application/x-bat": true, "application/x-msi": true, "application/java-archive": true,
	"application/vnd.microsoft.portable-executable": true, "application/x-elf": true, "application/x-mach-binary": true,
	"application/x-dosexec": true, "text/x-shellscript": true, "application/hta": true,
}

var executableMagic = [][]byte{[]byte("MZ"), []byte("\x7fELF"), []byte("#!"), {0xcf, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xcf}, {0xca, 0xfe, 0xba, 0xbe}}

// storeFile checks an attachment's type and size and writes it to the blob
// store. The declared type must not be executable, nor may the bytes be.
func (s *Server) storeFile(ctx context.Context, field, name, declared string, data []byte, source string) (inbox.File, error) {
	if int64(len(data)) > s.opts.MaxAttachmentBytes {
		return inbox.File{}, &http.MaxBytesError{Limit: s.opts.MaxAttachmentBytes}
	}
	return s.storeStream(ctx, field, name, declared, bytes.NewReader(data), source)
}

func (s *Server) storeStream(ctx context.Context, field, name, declared string, r io.Reader, source string) (inbox.File, error) {
	head := make([]byte, 512)
	n, _ := io.ReadFull(r, head)
	head = head[:n]
	if n == 0 {
		return inbox.File{}, &inbox.ValidationError{Field: field, Reason: "empty file"}
	}
	mt := strings.ToLower(strings.TrimSpace(declared))
	if mt != "" {
		parsed, _, err := mime.ParseMediaType(mt)
		if err != nil {
			return inbox.File{}, &inbox.ValidationError{Field: field + ".mime_type", Reason: "not a media type"}
		}
		mt = parsed
	} else {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(head))
	}
	if blockedTypes[mt] {
		return inbox.File{}, &inbox.ValidationError{Field: field + ".mime_type", Reason: "executable files are not accepted"}
	}
	for _, magic := range executableMagic {
		if bytes.HasPrefix(head, magic) {
			return inbox.File{}, &inbox.ValidationError{Field: field, Reason: "executable files are not accepted"}
		}
	}
	st, err := s.Blobs.Put(ctx, io.MultiReader(bytes.NewReader(head), r), s.opts.MaxAttachmentBytes)
	if errors.Is(err, blob.ErrTooLarge) {
		return inbox.File{}, &http.MaxBytesError{Limit: s.opts.MaxAttachmentBytes}
	}
	if err != nil {
		return inbox.File{}, err
	}
	if name == "" {
		name = "attachment"
	}
	return inbox.File{Name: name, MimeType: mt, Size: st.Size, SHA256: st.SHA256, BlobKey: st.Key, SourceURL: source}, nil
}

// receiveAttachment stores inline bytes or fetches a URL (through the
// SSRF-guarded client) into the blob store.
func (s *Server) receiveAttachment(ctx context.Context, adapter channel.Adapter, poc *channel.PointOfContact, field string, a channel.InboundAttachment) (inbox.File, error) {
	if a.MediaRef != "" {
		mf, ok := adapter.(channel.MediaFetcher)
		if !ok {
			return inbox.File{}, fmt.Errorf("adapter %s sent a media reference but cannot fetch media", adapter.Type())
		}
		fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		body, mimeType, err := mf.FetchMedia(fctx, poc, a.MediaRef)
		if err != nil {
			// Not acknowledged: the platform retries the webhook later.
			return inbox.File{}, fmt.Errorf("fetching media %s: %w", a.MediaRef, err)
		}
		defer body.Close()
		if a.MimeType != "" {
			mimeType = a.MimeType
		}
		return s.storeStream(ctx, field, a.Name, mimeType, body, "media:"+a.MediaRef)
	}
	if a.URL == "" {
		return s.storeFile(ctx, field, a.Name, a.MimeType, a.Data, "")
	}
	fctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(fctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return inbox.File{}, &inbox.ValidationError{Field: field + ".url", Reason: "invalid URL"}
	}
	for k, v := range a.Header {
		req.Header[k] = v
	}
	resp, err := s.Fetch.Do(req)
	if err != nil {
		return inbox.File{}, &inbox.ValidationError{Field: field + ".url", Reason: "could not fetch: " + err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return inbox.File{}, &inbox.ValidationError{Field: field + ".url", Reason: fmt.Sprintf("fetching it answered HTTP %d", resp.StatusCode)}
	}
	if resp.ContentLength > s.opts.MaxAttachmentBytes {
		return inbox.File{}, &http.MaxBytesError{Limit: s.opts.MaxAttachmentBytes}
	}
	declared := a.MimeType
	if declared == "" {
		declared = resp.Header.Get("Content-Type")
	}
	return s.storeStream(ctx, field, a.Name, declared, resp.Body, a.URL)
}
