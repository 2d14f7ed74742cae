package sms

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Limits of what Parse accepts.
const (
	MaxIDLength      = 64
	MaxAddressLength = 64
	// MaxInboundText bounds an inbound Body in bytes (Twilio's are at most
	// 1600 characters).
	MaxInboundText = 16 << 10
	maxReasonLen   = 1000
)

var sid = regexp.MustCompile(`^[A-Za-z0-9]{2,64}$`)

// Opt-out keywords, as Twilio's default opt-out handling has them: the
// whole message, trimmed, compared without case ("Stop texting me" is an
// ordinary message). HELP and INFO are ordinary messages here too (Twilio
// answers them itself with the account's help text); they reach the agent
// as text. When Twilio's Advanced Opt-Out (a Messaging Service feature,
// possibly with custom or localised keywords) has classified the message,
// its OptOutType parameter (STOP, START, HELP) decides instead (see Parse).
//
// OptOutKeyword tells whether an inbound text is an opt-out (STOP…: out is
// true) or opt-in (START…: out is false) keyword.
func OptOutKeyword(text string) (out bool, ok bool) {
	t := strings.TrimSpace(text)
	if len(t) > 16 {
		return false, false
	}
	switch strings.ToUpper(t) {
	case "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT":
		return true, true
	case "START", "YES", "UNSTOP":
		return false, true
	}
	return false, false
}

// knownError describes common delivery error codes, for status callbacks
// without an ErrorMessage ("" for others).
func knownError(code string) string {
	switch code {
	case "30001":
		return "Queue overflow"
	case "30002":
		return "Account suspended"
	case "30003":
		return "Unreachable destination handset"
	case "30004":
		return "Message blocked"
	case "30005":
		return "Unknown destination handset"
	case "30006":
		return "Landline or unreachable carrier"
	case "30007":
		return "Message filtered by the carrier"
	case "30008":
		return "Unknown error"
	case "30034":
		return "Message from an unregistered number (US A2P 10DLC)"
	case "21610":
		return "Attempt to send to unsubscribed recipient (the customer replied STOP)"
	case "21614":
		return "'To' number is not a valid mobile number"
	}
	return ""
}

// Parse reads one Twilio webhook: an inbound SMS or MMS (no MessageStatus,
// or MessageStatus "received") or a status callback of an outbound message.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, channel.Malformed("body", "not an application/x-www-form-urlencoded form: %v", err)
	}
	get := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	messageSID := get("MessageSid")
	if messageSID == "" {
		messageSID = get("SmsMessageSid")
	}
	if !sid.MatchString(messageSID) {
		return nil, channel.Malformed("MessageSid", "required: letters and digits, at most %d", MaxIDLength)
	}
	status := strings.ToLower(get("MessageStatus"))
	if status != "" && status != "received" && status != "receiving" {
		return statusEvent(form, messageSID, status)
	}

	from := get("From")
	if from == "" || len(from) > MaxAddressLength || !utf8.ValidString(from) {
		return nil, channel.Malformed("From", "required, at most %d characters", MaxAddressLength)
	}
	text := form.Get("Body")
	if len(text) > MaxInboundText {
		return nil, channel.Malformed("Body", "at most %d bytes", MaxInboundText)
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	ev := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: messageSID, ThreadID: from, AuthorID: from, Text: text}

	n := 0
	if s := get("NumMedia"); s != "" {
		n, err = strconv.Atoi(s)
		if err != nil || n < 0 || n > MaxMedia {
			return nil, channel.Malformed("NumMedia", "a number from 0 to %d", MaxMedia)
		}
	}
	account := poc.SettingString(SettingAccountSID)
	token := poc.Credential(CredentialAuthToken)
	for i := range n {
		field := "MediaUrl" + strconv.Itoa(i)
		raw := get(field)
		u, err := url.Parse(raw)
		if raw == "" || len(raw) > 2048 || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, channel.Malformed(field, "an absolute http(s) URL (NumMedia is %d)", n)
		}
		mt := strings.ToLower(get("MediaContentType" + strconv.Itoa(i)))
		if len(mt) > 255 || !utf8.ValidString(mt) {
			mt = ""
		}
		// Twilio serves media only with the account's credentials (HTTP
		// Basic), then redirects to a short-lived storage URL.
		h := http.Header{"Authorization": {basicAuth(account, token)}}
		ev.Attachments = append(ev.Attachments, channel.InboundAttachment{URL: raw, Header: h, MimeType: mt})
	}
	switch strings.ToUpper(get("OptOutType")) {
	case "STOP":
		out := true
		ev.OptOut = &out
	case "START":
		out := false
		ev.OptOut = &out
	case "HELP":
	default:
		if out, ok := OptOutKeyword(text); ok {
			ev.OptOut = &out
		}
	}
	return []channel.InboundEvent{ev}, nil
}

// statusEvent maps a status callback: delivered and read as they are,
// undelivered and failed to "failed" with the error code and text, every
// other status (queued, accepted, scheduled, sending, sent…) to no event.
func statusEvent(form url.Values, messageSID, status string) ([]channel.InboundEvent, error) {
	ev := channel.InboundEvent{Kind: channel.EventStatus, StatusMessageID: messageSID}
	switch status {
	case "delivered", "read":
		ev.Status = status
	case "undelivered", "failed", "canceled":
		ev.Status = "failed"
		ev.Reason = failureReason(status, strings.TrimSpace(form.Get("ErrorCode")), strings.TrimSpace(form.Get("ErrorMessage")))
	default:
		return []channel.InboundEvent{}, nil
	}
	return []channel.InboundEvent{ev}, nil
}

func failureReason(status, code, message string) string {
	message = strings.ToValidUTF8(message, "\uFFFD")
	if len(code) > 16 {
		code = code[:16]
	}
	code = strings.ToValidUTF8(code, "")
	if message == "" {
		message = knownError(code)
	}
	var reason string
	switch {
	case code != "" && message != "":
		reason = fmt.Sprintf("ErrorCode %s: %s", code, message)
	case code != "":
		reason = "ErrorCode " + code
	case message != "":
		reason = message
	default:
		reason = "message " + status
	}
	if len(reason) > maxReasonLen {
		reason = strings.ToValidUTF8(reason[:maxReasonLen], "")
	}
	return reason
}

// Respond acknowledges with an empty TwiML document: Twilio sends nothing
// back to the customer (agents answer later through the API).
func (a *Adapter) Respond(w http.ResponseWriter, r *http.Request, results []channel.IngestResult) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("<Response/>"))
}
