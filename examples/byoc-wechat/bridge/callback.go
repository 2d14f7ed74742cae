package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Callback is the body Parley POSTs to the point of contact's callback_url
// for every outbound message (an agent's reply, a bot, a campaign).
type Callback struct {
	MessageID        string `json:"message_id"` // Parley's message id: dedupe on it
	PointOfContactID string `json:"point_of_contact_id"`
	Thread           struct {
		ID string `json:"id"`
	} `json:"thread"`
	Recipient struct {
		ID   string `json:"id"` // the follower's OpenID (the author.id the middleware posted)
		Name string `json:"name"`
	} `json:"recipient"`
	Text        string               `json:"text"`     // plain text, also the fallback of rich content: what WeChat gets
	Content     json.RawMessage      `json:"content"`  // canonical rich content, or null (not used: WeChat shows text)
	Rendered    json.RawMessage      `json:"rendered"` // Parley's rendering for this channel, or null (not used)
	Attachments []CallbackAttachment `json:"attachments"`
}

// CallbackAttachment is a file of an outbound message. URL is a time-limited
// signed Parley URL: GET it (no Authorization header needed) while it is valid.
type CallbackAttachment struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	MimeType string `json:"mime_type"`
	Size     int64  `json:"size"`
	URL      string `json:"url"`
}

// OutboundID is the id the middleware answers a callback with; Parley stores
// it as the message's platform id. WeChat's customer-service API returns no
// id of its own.
func OutboundID(messageID string) string { return "wx-out-" + messageID }

// CallbackHandler serves Parley's callbacks. It verifies the signature on
// the raw body before anything else, then hands the message to WeChat within
// the request, so its answer tells Parley what happened:
//
//   - sent: 200 {"id": "wx-out-<message_id>"}; Parley shows the message sent.
//   - refused (the reply window, the 5-message limit, a WeChat error such as
//     45015/45047, an attachment WeChat cannot take): a "failed" receipt
//     with the reason is posted to Parley first, then 200 — Parley shows the
//     message failed with the reason. If the receipt cannot be posted, the
//     answer is 422 with the reason, which Parley also records as failed.
//   - temporary trouble (WeChat busy or unreachable): 503 with Retry-After,
//     and Parley tries again later; parts already sent are not sent again.
type CallbackHandler struct {
	Secret      []byte
	Tolerance   time.Duration    // 0 means DefaultTolerance
	MaxBody     int64            // 0 means 1 MiB
	Now         func() time.Time // for the signature check; nil means time.Now
	Ledger      *Ledger
	Sender      *Sender
	Parley      *ParleyClient
	Log         *slog.Logger
	SendTimeout time.Duration // the whole WeChat side of one callback; 0 means 20s (Parley waits 30s by default)
	RetryAfter  time.Duration // asked of Parley on temporary failures; 0 means 5s, negative sends no Retry-After (Parley's own backoff)
}

func (h *CallbackHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	maxBody := h.MaxBody
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "Body too large", fmt.Sprintf("the limit is %d bytes", maxBody))
			return
		}
		writeProblem(w, http.StatusBadRequest, "Unreadable body", err.Error())
		return
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	tolerance := h.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	if err := VerifyParleySignature(h.Secret, r.Header.Get(ParleySignatureHeader), body, now(), tolerance); err != nil {
		h.Log.Warn("parley callback refused", "remote", r.RemoteAddr, "err", err)
		writeProblem(w, http.StatusUnauthorized, "Invalid signature", err.Error())
		return
	}
	var cb Callback
	if err := json.Unmarshal(body, &cb); err != nil {
		writeProblem(w, http.StatusBadRequest, "Malformed JSON", err.Error())
		return
	}
	var missing []string
	if cb.MessageID == "" {
		missing = append(missing, "message_id")
	}
	if cb.Recipient.ID == "" {
		missing = append(missing, "recipient.id")
	}
	if len(missing) > 0 {
		writeProblem(w, http.StatusBadRequest, "Missing fields", strings.Join(missing, ", ")+" required")
		return
	}

	answer := map[string]string{"id": OutboundID(cb.MessageID)}
	log := h.Log.With("message_id", cb.MessageID, "openid", cb.Recipient.ID, "attempt", r.Header.Get("X-Parley-Delivery-Attempt"))

	claim, prior := h.Ledger.Begin(cb.MessageID)
	switch claim {
	case ClaimBusy:
		log.Info("callback repeated while in progress, asking parley to come back")
		h.retryLater(w, "this message is being sent right now")
		return
	case ClaimFinished:
		log.Info("callback repeated after it was handled: same answer, nothing sent again")
		if prior.Failed != "" {
			h.reportFailed(w, r, log, cb.MessageID, prior.Failed)
			return
		}
		writeJSON(w, http.StatusOK, answer)
		return
	}

	timeout := h.SendTimeout
	if timeout <= 0 {
		timeout = 20 * time.Second
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	out := h.Sender.Send(ctx, cb, prior.PartsSent)
	cancel()
	switch {
	case out.Retry != nil:
		h.Ledger.Pause(cb.MessageID, out.PartsSent)
		log.Warn("wechat unavailable, asking parley to retry", "parts_sent", out.PartsSent, "err", out.Retry)
		h.retryLater(w, out.Retry.Error())
	case out.Failed != "":
		h.Ledger.Finish(cb.MessageID, Prior{PartsSent: out.PartsSent, Failed: out.Failed})
		log.Warn("not sent to wechat", "reason", out.Failed, "parts_sent", out.PartsSent)
		h.reportFailed(w, r, log, cb.MessageID, out.Failed)
	default:
		h.Ledger.Finish(cb.MessageID, Prior{PartsSent: out.PartsSent})
		log.Info("sent to wechat", "parts", out.PartsSent)
		writeJSON(w, http.StatusOK, answer)
	}
}

// reportFailed tells Parley the message failed, with the reason, through a
// receipt (the reason then shows as given), and falls back to a 422 answer.
func (h *CallbackHandler) reportFailed(w http.ResponseWriter, r *http.Request, log *slog.Logger, messageID, reason string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 10*time.Second)
	defer cancel()
	if err := h.Parley.PostStatus(ctx, Status{MessageID: messageID, Status: "failed", Reason: reason}); err != nil {
		log.Error("failed receipt could not be posted, answering 422 instead", "err", err)
		writeProblem(w, http.StatusUnprocessableEntity, "Not sent to WeChat", reason)
		return
	}
	log.Info("failed receipt posted")
	writeJSON(w, http.StatusOK, map[string]string{"id": OutboundID(messageID)})
}

func (h *CallbackHandler) retryLater(w http.ResponseWriter, detail string) {
	switch d := h.RetryAfter; {
	case d == 0:
		w.Header().Set("Retry-After", "5")
	case d > 0:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(d/time.Second))))
	}
	writeProblem(w, http.StatusServiceUnavailable, "Try again later", detail)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeProblem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": title, "status": status, "detail": detail,
	})
}
