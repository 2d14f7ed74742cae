package sms

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// rendered is the part of content.Rendered the adapter reads.
type rendered struct {
	Text string `json:"text"`
}

// apiError is Twilio's error document.
type apiError struct {
	Code     json.Number `json:"code"`
	Message  string      `json:"message"`
	MoreInfo string      `json:"more_info"`
	Status   int         `json:"status"`
}

func basicAuth(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// MessagesURL is the Messages resource of the point of contact's account.
func MessagesURL(poc *channel.PointOfContact) string {
	return baseURL(poc) + "/2010-04-01/Accounts/" + url.PathEscape(poc.SettingString(SettingAccountSID)) + "/Messages.json"
}

// Form builds the Messages API form for msg: To, From and/or
// MessagingServiceSid, Body (Rendered.text, else Text; left out when empty
// and there is media), one MediaUrl per attachment, StatusCallback when
// configured. It refuses what Twilio would: no recipient, nothing to send,
// a body over 1600 characters, more than 10 media.
func Form(poc *channel.PointOfContact, msg *channel.OutboundMessage) (url.Values, error) {
	to := strings.TrimSpace(msg.RecipientID)
	if to == "" {
		return nil, fmt.Errorf("no recipient phone number")
	}
	text := msg.Text
	if len(msg.Rendered) > 0 && string(msg.Rendered) != "null" {
		var r rendered
		if err := json.Unmarshal(msg.Rendered, &r); err != nil {
			return nil, fmt.Errorf("rendered content is not valid: %v", err)
		}
		if strings.TrimSpace(r.Text) != "" {
			text = r.Text
		}
	}
	if n := utf8.RuneCountInString(text); n > MaxBodyLength {
		segs, enc := Segments(text)
		return nil, fmt.Errorf("the text is %d characters (%d %s segments); an SMS may have at most %d: shorten it or send it as several messages", n, segs, enc, MaxBodyLength)
	}
	if len(msg.Attachments) > MaxMedia {
		return nil, fmt.Errorf("%d attachments; an MMS carries at most %d", len(msg.Attachments), MaxMedia)
	}
	if strings.TrimSpace(text) == "" && len(msg.Attachments) == 0 {
		return nil, fmt.Errorf("nothing to send: no text and no attachment")
	}
	f := url.Values{}
	f.Set("To", to)
	if from := poc.SettingString(SettingFromNumber); from != "" {
		f.Set("From", from)
	}
	if svc := poc.SettingString(SettingMessagingServiceSID); svc != "" {
		f.Set("MessagingServiceSid", svc)
	}
	if strings.TrimSpace(text) != "" {
		f.Set("Body", text)
	}
	for _, att := range msg.Attachments {
		u, err := url.Parse(att.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("attachment %q has no absolute URL Twilio can fetch", att.Name)
		}
		f.Add("MediaUrl", att.URL)
	}
	if cb := poc.SettingString(SettingStatusCallbackURL); cb != "" {
		f.Set("StatusCallback", cb)
	}
	return f, nil
}

// Send creates one message through the Messages resource. A 2xx answer's
// "sid" is the platform id receipts are matched on. 429 and 5xx (and
// network failures) are retryable, with Retry-After when given; every
// other 4xx (21610: the recipient replied STOP; 21211: invalid number…) is
// permanent, reported as "code: message".
func (a *Adapter) Send(ctx context.Context, poc *channel.PointOfContact, msg *channel.OutboundMessage) (channel.SendResult, error) {
	form, err := Form(poc, msg)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Reason: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, MessagesURL(poc), strings.NewReader(form.Encode()))
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Reason: "invalid API URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", basicAuth(poc.SettingString(SettingAccountSID), poc.Credential(CredentialAuthToken)))
	resp, err := a.client.Do(req)
	if err != nil {
		return channel.SendResult{}, &channel.SendError{Retryable: true, Reason: "Twilio unreachable: " + err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode/100 != 2 {
		return channel.SendResult{}, &channel.SendError{Retryable: true, Reason: "reading Twilio's answer: " + err.Error()}
	}
	if resp.StatusCode/100 == 2 {
		var ok struct {
			SID string `json:"sid"`
		}
		if json.Unmarshal(body, &ok) != nil || !sid.MatchString(ok.SID) {
			// The message may well have gone out: retrying could send it
			// twice, so this is permanent.
			return channel.SendResult{}, &channel.SendError{Code: strconv.Itoa(resp.StatusCode), Reason: "Twilio accepted the message but its answer has no message sid: " + snippet(body)}
		}
		return channel.SendResult{PlatformMessageID: ok.SID}, nil
	}
	return channel.SendResult{}, a.sendError(resp, body)
}

func (a *Adapter) sendError(resp *http.Response, body []byte) *channel.SendError {
	se := &channel.SendError{
		Retryable: resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		Code:      strconv.Itoa(resp.StatusCode),
		Reason:    http.StatusText(resp.StatusCode),
	}
	if se.Retryable {
		se.RetryAfter = channel.RetryAfter(resp.Header.Get("Retry-After"), a.now())
	}
	var e apiError
	if json.Unmarshal(body, &e) == nil && (e.Code != "" || e.Message != "") {
		if e.Code != "" {
			se.Code = e.Code.String()
		}
		if e.Message != "" {
			se.Reason = e.Message
		}
		if e.MoreInfo != "" {
			se.Reason += " (" + e.MoreInfo + ")"
		}
	} else if s := snippet(body); s != "" {
		se.Reason = fmt.Sprintf("HTTP %d: %s", resp.StatusCode, s)
	}
	if se.Code == "21610" {
		se.Reason = "the recipient has opted out (replied STOP) of messages from this number: " + se.Reason
	}
	return se
}

func snippet(b []byte) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	if len(s) > 200 {
		s = strings.ToValidUTF8(s[:200], "") + "…"
	}
	return s
}
