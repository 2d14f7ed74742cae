package fake

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SignatureHeader carries Twilio's webhook signature.
const SignatureHeader = "X-Twilio-Signature"

// Sign computes X-Twilio-Signature as Twilio does: base64(HMAC-SHA1(auth
// token, the full URL followed by each POST parameter's name and value,
// sorted by name)).
func Sign(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SendWebhook posts a form to url signed with authToken, as Twilio does
// (Content-Type application/x-www-form-urlencoded, X-Twilio-Signature,
// Twilio's User-Agent). The caller closes the response body.
func SendWebhook(url, authToken string, form url.Values) (*http.Response, error) {
	return sendWebhook(http.DefaultClient, url, authToken, form)
}

func sendWebhook(client *http.Client, target, authToken string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("Accept", "*/*")
	req.Header.Set(SignatureHeader, Sign(authToken, target, form))
	return client.Do(req)
}

// SendWebhook posts a form to url signed with authToken (see the package
// function).
func (s *Server) SendWebhook(url, authToken string, form url.Values) (*http.Response, error) {
	return sendWebhook(s.client, url, authToken, form)
}

// Media is one file of an inbound MMS, for Server.MMS.
type Media struct {
	ContentType string
	Data        []byte
}

// MediaRef is a media URL already served somewhere, for InboundMMS.
type MediaRef struct {
	URL         string
	ContentType string
}

// InboundSMS builds the form Twilio posts for an incoming SMS, with a
// fresh SM… MessageSid (read it from form.Get("MessageSid")).
func InboundSMS(accountSID, from, to, body string) url.Values {
	return InboundMMS(accountSID, from, to, body)
}

// InboundMMS builds the form of an incoming message with media
// (MediaUrlN, MediaContentTypeN, NumMedia); its MessageSid is MM… when it
// has media, SM… otherwise.
func InboundMMS(accountSID, from, to, body string, media ...MediaRef) url.Values {
	prefix := "SM"
	if len(media) > 0 {
		prefix = "MM"
	}
	sid := NewSID(prefix)
	f := url.Values{}
	f.Set("ToCountry", "US")
	f.Set("ToState", "CA")
	f.Set("SmsMessageSid", sid)
	f.Set("NumMedia", strconv.Itoa(len(media)))
	f.Set("ToCity", "")
	f.Set("FromZip", "")
	f.Set("SmsSid", sid)
	f.Set("FromState", "CA")
	f.Set("SmsStatus", "received")
	f.Set("FromCity", "")
	f.Set("Body", body)
	f.Set("FromCountry", "US")
	f.Set("To", to)
	f.Set("ToZip", "")
	f.Set("NumSegments", "1")
	f.Set("MessageSid", sid)
	f.Set("AccountSid", accountSID)
	f.Set("From", from)
	f.Set("ApiVersion", APIVersion)
	for i, m := range media {
		f.Set("MediaUrl"+strconv.Itoa(i), m.URL)
		f.Set("MediaContentType"+strconv.Itoa(i), m.ContentType)
	}
	return f
}

// StatusCallback builds the form Twilio posts to a message's
// StatusCallback. errorCode (and errorMessage, which Twilio rarely sends)
// are left out when empty.
func StatusCallback(accountSID, messageSID, from, to, status, errorCode, errorMessage string) url.Values {
	f := url.Values{}
	f.Set("AccountSid", accountSID)
	f.Set("ApiVersion", APIVersion)
	f.Set("MessageSid", messageSID)
	f.Set("SmsSid", messageSID)
	f.Set("MessageStatus", status)
	f.Set("SmsStatus", status)
	f.Set("From", from)
	f.Set("To", to)
	if errorCode != "" {
		f.Set("ErrorCode", errorCode)
	}
	if errorMessage != "" {
		f.Set("ErrorMessage", errorMessage)
	}
	if status == "delivered" {
		f.Set("RawDlrDoneDate", "2611240900")
	}
	return f
}

// SMS builds an incoming SMS from a customer to the fake's number.
func (s *Server) SMS(from, body string) url.Values {
	return InboundSMS(s.opts.AccountSID, from, s.opts.Number, body)
}

// MMS builds an incoming MMS to the fake's number, serving each file
// (AddMedia) at a URL that needs the account's credentials.
func (s *Server) MMS(from, body string, media ...Media) url.Values {
	refs := make([]MediaRef, 0, len(media))
	for _, m := range media {
		refs = append(refs, MediaRef{URL: s.AddMedia(m.ContentType, m.Data), ContentType: m.ContentType})
	}
	return InboundMMS(s.opts.AccountSID, from, s.opts.Number, body, refs...)
}

// ErrNoCallback: the message is unknown or was sent without StatusCallback.
var ErrNoCallback = errors.New("fake: no such message, or it was sent without StatusCallback")

// Deliver posts a status callback (queued, sending, sent, delivered, read…)
// for an accepted message to the StatusCallback it was sent with, signed
// with the account's token, and records the status. The caller closes the
// response body.
func (s *Server) Deliver(sid, status string) (*http.Response, error) {
	return s.DeliverError(sid, status, "", "")
}

// DeliverError is Deliver with an error code (and optional message), for
// undelivered and failed.
func (s *Server) DeliverError(sid, status, errorCode, errorMessage string) (*http.Response, error) {
	s.mu.Lock()
	var m *Message
	for _, x := range s.messages {
		if x.SID == sid {
			m = x
		}
	}
	if m == nil || m.StatusCallback == "" {
		s.mu.Unlock()
		return nil, ErrNoCallback
	}
	m.Status = status
	from := m.From
	if from == "" {
		from = s.opts.Number
	}
	form := StatusCallback(s.opts.AccountSID, m.SID, from, m.To, status, errorCode, errorMessage)
	if m.MessagingServiceSID != "" {
		form.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	target := m.StatusCallback
	s.mu.Unlock()
	return s.SendWebhook(target, s.opts.AuthToken, form)
}
