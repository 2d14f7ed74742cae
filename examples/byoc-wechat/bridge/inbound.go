package bridge

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// WeChatHandler serves the Official Account's server URL (set in WeChat's
// admin console): the GET handshake and the POSTed messages and events.
// Every request must carry WeChat's signature in its query string. Messages
// are acknowledged with "success" as soon as they are queued for Parley, far
// inside WeChat's 5 seconds, and a push WeChat repeats is dropped by its
// MsgId (Parley would drop it too: the message id sent to Parley is derived
// from the MsgId).
type WeChatHandler struct {
	Token  string
	Crypto *Crypto // nil: safe (encrypted) mode is not configured
	// Tolerance is how far the signed timestamp may be from Now: WeChat
	// signs only the query, so an old signature must not be reusable for
	// long. 0 means DefaultTolerance; negative turns the check off.
	Tolerance time.Duration
	Now       func() time.Time // nil means time.Now
	Seen      *SeenSet
	Policy    *Policy
	Work      chan<- Message // buffered; when full the push is refused and WeChat retries
	Log       *slog.Logger
	MaxBody   int64 // 0 means 1 MiB
}

func (h *WeChatHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sig, ts, nonce := q.Get("signature"), q.Get("timestamp"), q.Get("nonce")
	if sig == "" || ts == "" || nonce == "" || !CheckSignature(sig, h.Token, ts, nonce) {
		h.Log.Warn("wechat request refused: bad signature", "method", r.Method, "remote", r.RemoteAddr)
		http.Error(w, "invalid signature", http.StatusForbidden)
		return
	}
	if !h.fresh(ts) {
		h.Log.Warn("wechat request refused: timestamp too far from now (check the clock)", "method", r.Method, "timestamp", ts, "remote", r.RemoteAddr)
		http.Error(w, "stale signature", http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodGet:
		// The server-URL check from WeChat's admin console.
		echo := q.Get("echostr")
		if echo == "" {
			http.Error(w, "echostr missing", http.StatusBadRequest)
			return
		}
		h.Log.Info("wechat server URL verified")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, echo)
	case http.MethodPost:
		h.receive(w, r, q)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// fresh checks the signed timestamp against the clock.
func (h *WeChatHandler) fresh(ts string) bool {
	tolerance := h.Tolerance
	if tolerance < 0 {
		return true
	}
	if tolerance == 0 {
		tolerance = DefaultTolerance
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	d := now().Sub(time.Unix(sec, 0))
	return d <= tolerance && d >= -tolerance
}

func (h *WeChatHandler) receive(w http.ResponseWriter, r *http.Request, q url.Values) {
	maxBody := h.MaxBody
	if maxBody <= 0 {
		maxBody = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	m, err := ParseMessage(body)
	if err != nil {
		h.Log.Warn("wechat push refused", "err", err)
		http.Error(w, "malformed XML", http.StatusBadRequest)
		return
	}
	encrypted := q.Get("encrypt_type") == "aes" || (m.Encrypt != "" && m.MsgType == "")
	if encrypted && h.Crypto == nil && m.MsgType != "" {
		// Compatible mode: the plaintext is there too.
		encrypted = false
	}
	if encrypted {
		if h.Crypto == nil {
			h.Log.Error("wechat sent an encrypted message but no EncodingAESKey is configured (set WECHAT_ENCODING_AES_KEY, or choose plaintext mode in WeChat's console)")
			http.Error(w, "encrypted mode not configured", http.StatusBadRequest)
			return
		}
		if !CheckSignature(q.Get("msg_signature"), h.Token, q.Get("timestamp"), q.Get("nonce"), m.Encrypt) {
			h.Log.Warn("wechat push refused: bad msg_signature", "remote", r.RemoteAddr)
			http.Error(w, "invalid msg_signature", http.StatusForbidden)
			return
		}
		plain, err := h.Crypto.Decrypt(m.Encrypt)
		if err != nil {
			h.Log.Warn("wechat push refused: cannot decrypt", "err", err)
			http.Error(w, "cannot decrypt", http.StatusBadRequest)
			return
		}
		if m, err = ParseMessage(plain); err != nil {
			h.Log.Warn("wechat push refused: decrypted XML is malformed", "err", err)
			http.Error(w, "malformed XML", http.StatusBadRequest)
			return
		}
	}
	if m.FromUserName == "" || m.MsgType == "" {
		http.Error(w, "FromUserName and MsgType are required", http.StatusBadRequest)
		return
	}

	log := h.Log.With("openid", m.FromUserName, "msg_type", m.MsgType)
	key := m.DedupeKey()
	if !h.Seen.Add(key) {
		log.Info("wechat retry ignored (already received)", "msg_id", m.MsgID)
		success(w)
		return
	}
	if m.IsEvent() {
		h.event(log, m)
		success(w)
		return
	}
	// The follower's message opens WeChat's reply window now, whatever
	// happens on the way to Parley.
	h.Policy.Message(m.FromUserName, m.InboundID(), m.SentAt())
	select {
	case h.Work <- m:
	default:
		h.Seen.Remove(key) // not handled: let WeChat's retry through
		log.Warn("queue to parley full, letting wechat retry")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	log.Info("wechat message accepted", "msg_id", m.MsgID)
	success(w)
}

// event handles what is not a message. Follows and unfollows matter to the
// reply window; the rest (menu clicks, scans, location reports) is logged.
func (h *WeChatHandler) event(log *slog.Logger, m Message) {
	switch m.Event {
	case "subscribe":
		h.Policy.Followed(m.FromUserName)
		log.Info("wechat follower subscribed", "event_key", m.EventKey)
	case "unsubscribe":
		h.Policy.Unfollowed(m.FromUserName)
		log.Info("wechat follower unsubscribed: replies to them will fail until they follow again and write")
	default:
		log.Info("wechat event ignored", "event", m.Event, "event_key", m.EventKey)
	}
}

// success is the answer WeChat expects when there is no passive reply:
// agents answer later through the customer-service API.
func success(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = io.WriteString(w, "success")
}

// Forwarder posts queued WeChat messages to Parley, one at a time and in
// order, retrying while Parley is unreachable or busy.
type Forwarder struct {
	Parley *ParleyClient
	Log    *slog.Logger
}

// Run forwards messages from work until stopping is closed, then forwards
// what is already queued and returns. Cancel ctx to abandon the queue.
func (f *Forwarder) Run(ctx context.Context, work <-chan Message, stopping <-chan struct{}) {
	for {
		select {
		case m := <-work:
			f.Forward(ctx, m)
		case <-stopping:
			for {
				select {
				case m := <-work:
					f.Forward(ctx, m)
				default:
					return
				}
			}
		case <-ctx.Done():
			return
		}
	}
}

// Forward posts one message to Parley.
func (f *Forwarder) Forward(ctx context.Context, m Message) {
	in := ToInbound(m)
	log := f.Log.With("openid", m.FromUserName, "msg_id", m.MsgID, "inbound_id", in.ID)
	res, err := f.Parley.PostMessage(ctx, in)
	var pe *ParleyError
	if err != nil && len(in.Attachments) > 0 && errors.As(err, &pe) && pe.StatusCode == http.StatusBadRequest && pe.FieldError("attachments") {
		// Parley could not fetch or accept the picture: still tell the
		// agent something arrived, with the link.
		log.Warn("parley refused the image, posting its link instead", "err", err)
		in.Text = "[image Parley could not fetch: " + m.PicURL + "]"
		in.Attachments = nil
		res, err = f.Parley.PostMessage(ctx, in)
	}
	if err != nil {
		log.Error("posting to parley failed: message lost", "err", err)
		return
	}
	log.Info("posted to parley", "parley_message_id", res.MessageID, "case_id", res.CaseID, "duplicate", res.Duplicate)
}
