package xdm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// idString is an id X gives as a string, read from a number too (older
// payloads and hand-written tests).
type idString string

func (s *idString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = idString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("must be a string")
	}
	*s = idString(n.String())
	return nil
}

// activity is one Account Activity API delivery. Only what Parley handles
// is decoded; tweet_create_events, favorite_events, follow_events,
// direct_message_indicate_typing_events and the rest are ignored.
type activity struct {
	ForUserID      idString          `json:"for_user_id"`
	DirectMessages []json.RawMessage `json:"direct_message_events"`
	MarkReads      []json.RawMessage `json:"direct_message_mark_read_events"`
	Users          map[string]user   `json:"users"`
}

type user struct {
	ID         idString `json:"id"`
	Name       string   `json:"name"`
	ScreenName string   `json:"screen_name"`
}

type dmEvent struct {
	Type             string   `json:"type"`
	ID               idString `json:"id"`
	CreatedTimestamp idString `json:"created_timestamp"`
	MessageCreate    *struct {
		Target struct {
			RecipientID idString `json:"recipient_id"`
		} `json:"target"`
		SenderID    idString `json:"sender_id"`
		MessageData struct {
			Text       string `json:"text"`
			Attachment *struct {
				Type  string `json:"type"`
				Media struct {
					IDStr         idString   `json:"id_str"`
					MediaURLHTTPS string     `json:"media_url_https"`
					URL           string     `json:"url"`
					Type          string     `json:"type"` // photo, video, animated_gif
					VideoInfo     *videoInfo `json:"video_info"`
				} `json:"media"`
			} `json:"attachment"`
		} `json:"message_data"`
	} `json:"message_create"`
}

// videoInfo lists the encodings of a video or animated GIF.
type videoInfo struct {
	Variants []struct {
		Bitrate     int    `json:"bitrate"`
		ContentType string `json:"content_type"`
		URL         string `json:"url"`
	} `json:"variants"`
}

type markReadEvent struct {
	CreatedTimestamp idString `json:"created_timestamp"`
	SenderID         idString `json:"sender_id"`
	Target           struct {
		RecipientID idString `json:"recipient_id"`
	} `json:"target"`
	LastReadEventID idString `json:"last_read_event_id"`
}

// Parse reads a delivery for this point of contact's account (a delivery
// for another account subscribed to the same webhook yields nothing):
// every direct_message_events[] message_create becomes a message (those the
// business sent itself, echoed back with sender_id == for_user_id, are
// dropped), and every direct_message_mark_read_events[] by the customer a
// read watermark on that customer's thread. The thread is the customer's
// user id: X has one DM conversation per customer and business.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	var act activity
	if err := decode(body, &act, "body"); err != nil {
		return nil, err
	}
	if act.ForUserID == "" {
		if len(act.DirectMessages) == 0 && len(act.MarkReads) == 0 {
			return nil, nil // not a delivery Parley handles (e.g. an app-level event)
		}
		return nil, channel.Malformed("for_user_id", "required")
	}
	business := string(act.ForUserID)
	if business != poc.SettingString(SettingUserID) {
		return nil, nil
	}
	var out []channel.InboundEvent
	for i, raw := range act.DirectMessages {
		field := fmt.Sprintf("direct_message_events[%d]", i)
		var ev dmEvent
		if err := decode(raw, &ev, field); err != nil {
			return nil, err
		}
		if ev.Type != "message_create" || ev.MessageCreate == nil {
			continue
		}
		if err := checkID(field+".id", string(ev.ID)); err != nil {
			return nil, err
		}
		mc := ev.MessageCreate
		sender := string(mc.SenderID)
		if err := checkID(field+".message_create.sender_id", sender); err != nil {
			return nil, err
		}
		if sender == business {
			continue // our own DM, echoed back
		}
		msg := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: string(ev.ID), ThreadID: sender, AuthorID: sender,
			SentAt: millis(string(ev.CreatedTimestamp))}
		if u, ok := act.Users[sender]; ok {
			msg.AuthorName = firstNonEmpty(clip(u.Name, 200), clip(u.ScreenName, 200))
			msg.ThreadName = msg.AuthorName
		}
		text := mc.MessageData.Text
		if att := mc.MessageData.Attachment; att != nil && att.Type == "media" {
			m := att.Media
			// X appends the media's t.co link to the text; the file itself
			// is the attachment.
			if m.URL != "" {
				text = strings.TrimSpace(strings.Replace(text, m.URL, "", 1))
			}
			if in, ok := mediaAttachment(m.Type, m.MediaURLHTTPS, m.VideoInfo, poc); ok {
				msg.Attachments = append(msg.Attachments, in)
			}
		}
		msg.Text = text
		out = append(out, msg)
	}
	for i, raw := range act.MarkReads {
		field := fmt.Sprintf("direct_message_mark_read_events[%d]", i)
		var ev markReadEvent
		if err := decode(raw, &ev, field); err != nil {
			return nil, err
		}
		reader := string(ev.SenderID)
		if reader == "" || reader == business || len(reader) > MaxIDLength {
			continue // the business reading the customer's messages
		}
		at := millis(string(ev.CreatedTimestamp))
		if at.IsZero() {
			continue
		}
		out = append(out, channel.InboundEvent{Kind: channel.EventStatus, Status: "read", ThreadID: reader, Watermark: at})
	}
	return out, nil
}

// mediaAttachment is the file of a DM: the photo, or the best MP4 of a
// video or animated GIF. X serves DM media only to an authorised caller,
// so the core fetches it with the access token.
func mediaAttachment(kind, photoURL string, video *videoInfo, poc *channel.PointOfContact) (channel.InboundAttachment, bool) {
	u, mimeType := photoURL, ""
	if (kind == "video" || kind == "animated_gif") && video != nil {
		best := -1
		for _, v := range video.Variants {
			if v.ContentType == "video/mp4" && v.Bitrate > best && httpURL(v.URL) {
				u, mimeType, best = v.URL, "video/mp4", v.Bitrate
			}
		}
	}
	if !httpURL(u) {
		return channel.InboundAttachment{}, false
	}
	h := http.Header{}
	if tok := poc.Credential(CredentialAccessToken); tok != "" {
		h.Set("Authorization", "Bearer "+tok)
	}
	name := ""
	if p, err := url.Parse(u); err == nil {
		name = path.Base(p.Path)
		if name == "." || name == "/" {
			name = ""
		}
	}
	return channel.InboundAttachment{URL: u, Header: h, MimeType: mimeType, Name: clip(name, 200)}, true
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(s) <= 2048
}

// decode reads one JSON object; type errors name the field.
func decode(raw []byte, v any, field string) error {
	if t := bytes.TrimLeft(raw, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return channel.Malformed(field, "must be a JSON object")
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return channel.Malformed(field+"."+te.Field, "must be %s", te.Type.String())
		}
		return channel.Malformed(field, "malformed: %v", err)
	}
	return nil
}

func checkID(field, id string) error {
	if strings.TrimSpace(id) == "" {
		return channel.Malformed(field, "required")
	}
	if len(id) > MaxIDLength || !utf8.ValidString(id) {
		return channel.Malformed(field, "at most %d bytes of UTF-8", MaxIDLength)
	}
	return nil
}

// millis reads X's created_timestamp (milliseconds since the epoch, as a
// string); anything else is the zero time (the core then uses its own).
func millis(s string) time.Time {
	ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || ms <= 0 || ms > 1<<53 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
