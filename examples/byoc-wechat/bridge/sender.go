package bridge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// imageExtension returns the file extension of an image type WeChat takes
// as temporary "image" media, or "" for other types.
func imageExtension(mimeType string) string {
	switch mimeType {
	case "image/jpeg", "image/jpg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/bmp":
		return ".bmp"
	}
	return ""
}

// DefaultMaxImageBytes is WeChat's limit for temporary image media (10 MB).
const DefaultMaxImageBytes = 10 << 20

// Sender hands one Parley message to WeChat: its text as a text message,
// then each image as an image message (uploaded as temporary media first).
// Each is one customer-service message for WeChat's 5-message allowance.
type Sender struct {
	WeChat        *WeChatClient
	Policy        *Policy
	Files         *http.Client // fetches Parley's signed attachment URLs
	MaxImageBytes int64        // 0 means DefaultMaxImageBytes
}

// Outcome is what became of a message. Exactly one of: Failed set (refused
// for good), Retry set (temporary trouble), neither (all parts sent).
type Outcome struct {
	PartsSent int
	Failed    string
	Retry     error
}

type part struct {
	text  string
	image *CallbackAttachment
}

// plan splits the message into WeChat messages, or says why it cannot go.
func (s *Sender) plan(cb Callback) ([]part, string) {
	var parts []part
	if strings.TrimSpace(cb.Text) != "" {
		parts = append(parts, part{text: cb.Text})
	}
	maxBytes := s.MaxImageBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxImageBytes
	}
	for i := range cb.Attachments {
		a := &cb.Attachments[i]
		mt := strings.ToLower(strings.TrimSpace(a.MimeType))
		if imageExtension(mt) == "" {
			return nil, fmt.Sprintf("Not sent: WeChat customer-service messages carry text and images (JPEG, PNG, GIF, BMP) only; "+
				"%q (%s) cannot be sent. Remove it (share it another way) and send again.", a.Name, a.MimeType)
		}
		if a.Size > maxBytes {
			return nil, fmt.Sprintf("Not sent: the image %q is %d bytes; WeChat takes images up to %d bytes.", a.Name, a.Size, maxBytes)
		}
		parts = append(parts, part{image: a})
	}
	if len(parts) == 0 {
		return nil, "Not sent: the message has neither text nor an image."
	}
	return parts, ""
}

// Send sends the parts of cb from the part numbered from (earlier ones went
// out in an attempt that was interrupted).
func (s *Sender) Send(ctx context.Context, cb Callback, from int) Outcome {
	openID := cb.Recipient.ID
	parts, refusal := s.plan(cb)
	if refusal != "" {
		return Outcome{PartsSent: from, Failed: refusal}
	}
	if from >= len(parts) {
		return Outcome{PartsSent: from}
	}
	res, err := s.Policy.Reserve(openID, len(parts)-from)
	if err != nil {
		return Outcome{PartsSent: from, Failed: err.Error()}
	}
	defer res.Release()
	for i := from; i < len(parts); i++ {
		if err := s.sendPart(ctx, openID, parts[i]); err != nil {
			return s.classify(openID, err, i, len(parts))
		}
		res.Used()
	}
	return Outcome{PartsSent: len(parts)}
}

func (s *Sender) sendPart(ctx context.Context, openID string, p part) error {
	if p.image == nil {
		return s.WeChat.SendText(ctx, openID, p.text)
	}
	data, contentType, err := s.fetch(ctx, p.image)
	if err != nil {
		return err
	}
	name := p.image.Name
	if name == "" {
		name = "image" + imageExtension(contentType)
	}
	mediaID, err := s.WeChat.UploadImage(ctx, name, contentType, data)
	if err != nil {
		return err
	}
	return s.WeChat.SendImage(ctx, openID, mediaID)
}

// fileError is a Parley attachment that cannot be fetched for good.
type fileError struct{ msg string }

func (e *fileError) Error() string { return e.msg }

// fetch downloads an attachment from its signed Parley URL.
func (s *Sender) fetch(ctx context.Context, a *CallbackAttachment) ([]byte, string, error) {
	maxBytes := s.MaxImageBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxImageBytes
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return nil, "", &fileError{fmt.Sprintf("the attachment %q has an invalid URL", a.Name)}
	}
	hc := s.Files
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetching the attachment %q from Parley: %w", a.Name, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
		return nil, "", fmt.Errorf("fetching the attachment %q from Parley: HTTP %d", a.Name, resp.StatusCode)
	default:
		return nil, "", &fileError{fmt.Sprintf("Parley answered HTTP %d for the attachment %q", resp.StatusCode, a.Name)}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, "", fmt.Errorf("fetching the attachment %q from Parley: %w", a.Name, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, "", &fileError{fmt.Sprintf("the image %q is over %d bytes, WeChat's limit", a.Name, maxBytes)}
	}
	contentType := strings.ToLower(a.MimeType)
	if sniffed := http.DetectContentType(data); imageExtension(sniffed) != "" {
		contentType = sniffed
	}
	return data, contentType, nil
}

// classify turns an error from part i (of total) into an outcome.
func (s *Sender) classify(openID string, err error, i, total int) Outcome {
	out := Outcome{PartsSent: i}
	prefix := "Not sent: "
	if i > 0 {
		prefix = fmt.Sprintf("Partly sent (%d of %d WeChat messages), then not sent: ", i, total)
	}
	var we *WeChatError
	var fe *fileError
	switch {
	case errors.As(err, &we) && we.Temporary():
		out.Retry = err
	case errors.As(err, &we):
		s.Policy.WeChatRefused(openID, we.Errcode)
		out.Failed = prefix + we.Error() + explainErrcode(we.Errcode)
	case errors.As(err, &fe):
		out.Failed = prefix + fe.Error() + "."
	default:
		// Unreachable, timed out, HTTP 5xx: WeChat may be back soon.
		out.Retry = err
	}
	return out
}

// explainErrcode says what a WeChat refusal means for the agent.
func explainErrcode(code int) string {
	switch code {
	case ErrcodeResponseOutOfTime:
		return " — outside WeChat's 48-hour reply window, or the customer unfollowed the Official Account. The customer must write first."
	case ErrcodeResponseCountLimit:
		return " — WeChat's reply limit (5 customer-service messages per customer message) is reached. The customer must write again."
	case ErrcodeInvalidOpenID:
		return " — this OpenID does not belong to a follower of this Official Account."
	case ErrcodeAPIUnauthorized:
		return " — the Official Account may not use the customer-service API (it needs to be a verified Service Account)."
	case ErrcodeAPIFrequencyLimited:
		return " — the Official Account's daily API quota is used up."
	case ErrcodeInvalidMediaID:
		return " — WeChat did not accept the uploaded image."
	default:
		return ""
	}
}
