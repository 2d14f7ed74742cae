package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/store"
)

// SignedURL implements inbox.AttachmentSigner: a link a platform or
// middleware can GET without credentials, valid for FileURLTTL.
func (s *Server) SignedURL(attachmentID string) string {
	exp := strconv.FormatInt(s.Now().Add(s.opts.FileURLTTL).Unix(), 10)
	return strings.TrimRight(s.opts.PublicURL, "/") + "/files/" + attachmentID + "?exp=" + exp + "&sig=" + s.fileSig(attachmentID, exp)
}

func (s *Server) fileSig(id, exp string) string {
	m := hmac.New(sha256.New, s.opts.FileKey)
	m.Write([]byte(id + "|" + exp))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) signedFile(w http.ResponseWriter, r *http.Request) {
	id, exp, sig := r.PathValue("id"), r.URL.Query().Get("exp"), r.URL.Query().Get("sig")
	e, err := strconv.ParseInt(exp, 10, 64)
	want := s.fileSig(id, exp)
	if err != nil || !hmac.Equal([]byte(sig), []byte(want)) {
		problem(w, http.StatusForbidden, "invalid signature")
		return
	}
	if s.Now().Unix() > e {
		problem(w, http.StatusGone, "this link has expired")
		return
	}
	s.serveAttachment(w, r, id, "")
}

func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request, u *account.User) {
	id := r.PathValue("id")
	a, ws, err := s.Inbox.GetAttachment(r.Context(), id)
	if err != nil || ws != u.WorkspaceID {
		problem(w, http.StatusNotFound, "not found")
		return
	}
	if ok, err := s.Inbox.CanSeeAttachment(r.Context(), u, a.ID); err != nil || !ok {
		problem(w, http.StatusNotFound, "not found")
		return
	}
	s.serveAttachment(w, r, id, u.WorkspaceID)
}

func (s *Server) serveAttachment(w http.ResponseWriter, r *http.Request, id, workspaceID string) {
	a, ws, err := s.Inbox.GetAttachment(r.Context(), id)
	if err != nil || (workspaceID != "" && ws != workspaceID) {
		if errors.Is(err, store.ErrNotFound) || err == nil {
			problem(w, http.StatusNotFound, "not found")
			return
		}
		s.fail(w, r, err)
		return
	}
	f, err := s.Blobs.Open(r.Context(), a.BlobKey)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", a.MimeType)
	h.Set("Content-Length", strconv.FormatInt(a.Size, 10))
	// Files from customers are never rendered as pages of ours.
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, max-age=300")
	_, _ = io.Copy(w, f)
}
