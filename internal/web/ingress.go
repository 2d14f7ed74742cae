package web

import (
	"errors"
	"mime"
	"net/http"
	"time"

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
		status := http.StatusUnauthorized
		if a, ok := adapter.(interface{ AuthFailureStatus() int }); ok {
			status = a.AuthFailureStatus() // e.g. Twilio's convention: 403
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
		}
		problem(w, status, "request not authenticated for this point of contact")
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
	results, err := s.Ingress.Ingest(ctx, &poc, events)
	if err != nil {
		if isClientError(err) {
			s.metrics.ingestRejected.WithLabelValues(poc.Type, "invalid").Inc()
			s.fail(w, r, err)
			return
		}
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

// isClientError tells a delivery's own fault (bad content, a refused or
// oversize attachment: 4xx, never retried usefully) from ours or a
// platform's (5xx: the platform retries).
func isClientError(err error) bool {
	var ve *inbox.ValidationError
	var mbe *http.MaxBytesError
	return errors.As(err, &ve) || errors.As(err, &mbe)
}
