// Package ingress is the one inbound path: whether events come from a
// platform's webhook, the BYOC API, an IMAP mailbox or Parley's SMTP
// receiver, their attachments are fetched and checked into the blob store,
// their content validated, and everything committed with the inbox in one
// transaction before the caller acknowledges anything.
package ingress

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
)

// Service processes inbound events.
type Service struct {
	inbox         *inbox.Service
	registry      *channel.Registry
	blobs         *blob.FileStore
	fetch         *http.Client
	maxAttachment int64
	validate      bool
}

// Options configure the service.
type Options struct {
	Inbox    *inbox.Service
	Registry *channel.Registry
	Blobs    *blob.FileStore
	// Fetch downloads attachment URLs (SSRF-guarded in production).
	Fetch *http.Client
	// MaxAttachmentBytes bounds one attachment (default 25 MiB).
	MaxAttachmentBytes int64
	// ValidateContent checks inbound canonical content with the inbox's
	// content policy.
	ValidateContent bool
}

// New makes the service.
func New(o Options) *Service {
	if o.MaxAttachmentBytes <= 0 {
		o.MaxAttachmentBytes = 25 << 20
	}
	return &Service{inbox: o.Inbox, registry: o.Registry, blobs: o.Blobs, fetch: o.Fetch, maxAttachment: o.MaxAttachmentBytes, validate: o.ValidateContent}
}

// Ingest stores what a point of contact received. Errors in one event's
// attachments or content fail the whole delivery before anything is
// written (the platform retries it; dedupe makes that safe).
func (s *Service) Ingest(ctx context.Context, poc *channel.PointOfContact, events []channel.InboundEvent) ([]channel.IngestResult, error) {
	adapter, ok := s.registry.Get(poc.Type)
	if !ok {
		return nil, fmt.Errorf("ingress: no adapter for %s", poc.Type)
	}
	items := make([]inbox.InboundItem, len(events))
	for i, ev := range events {
		items[i].Event = ev
		if s.validate && len(ev.Content) > 0 && string(ev.Content) != "null" {
			if err := s.inbox.ValidateContent(ev.Content); err != nil {
				return nil, err
			}
		}
		for j, a := range ev.Attachments {
			f, err := s.receiveAttachment(ctx, adapter, poc, fmt.Sprintf("attachments[%d]", j), a)
			if err != nil {
				return nil, err
			}
			items[i].Files = append(items[i].Files, f)
		}
	}
	return s.inbox.Ingest(ctx, poc, items)
}

// ErrAttachment wraps a failure to fetch or store an attachment that is not
// the request's fault (a platform's media endpoint failing): the delivery
// is not acknowledged and the platform retries.
var ErrAttachment = errors.New("ingress: attachment could not be fetched")

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
func (s *Service) StoreFile(ctx context.Context, field, name, declared string, data []byte, source string) (inbox.File, error) {
	if int64(len(data)) > s.maxAttachment {
		return inbox.File{}, &http.MaxBytesError{Limit: s.maxAttachment}
	}
	return s.storeStream(ctx, field, name, declared, bytes.NewReader(data), source)
}

func (s *Service) storeStream(ctx context.Context, field, name, declared string, r io.Reader, source string) (inbox.File, error) {
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
	st, err := s.blobs.Put(ctx, io.MultiReader(bytes.NewReader(head), r), s.maxAttachment)
	if errors.Is(err, blob.ErrTooLarge) {
		return inbox.File{}, &http.MaxBytesError{Limit: s.maxAttachment}
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
func (s *Service) receiveAttachment(ctx context.Context, adapter channel.Adapter, poc *channel.PointOfContact, field string, a channel.InboundAttachment) (inbox.File, error) {
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
			return inbox.File{}, fmt.Errorf("%w: media %s: %v", ErrAttachment, a.MediaRef, err)
		}
		defer body.Close()
		if a.MimeType != "" {
			mimeType = a.MimeType
		}
		return s.storeStream(ctx, field, a.Name, mimeType, body, "media:"+a.MediaRef)
	}
	if a.URL == "" {
		return s.StoreFile(ctx, field, a.Name, a.MimeType, a.Data, "")
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
	resp, err := s.fetch.Do(req)
	if err != nil {
		return inbox.File{}, &inbox.ValidationError{Field: field + ".url", Reason: "could not fetch: " + err.Error()}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return inbox.File{}, &inbox.ValidationError{Field: field + ".url", Reason: fmt.Sprintf("fetching it answered HTTP %d", resp.StatusCode)}
	}
	if resp.ContentLength > s.maxAttachment {
		return inbox.File{}, &http.MaxBytesError{Limit: s.maxAttachment}
	}
	declared := a.MimeType
	if declared == "" {
		declared = resp.Header.Get("Content-Type")
	}
	return s.storeStream(ctx, field, a.Name, declared, resp.Body, a.URL)
}
