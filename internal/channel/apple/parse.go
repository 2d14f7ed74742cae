package apple

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/channel"
)

// Message types of the MSP API.
const (
	TypeText        = "text"
	TypeInteractive = "interactive"
	TypeRichLink    = "richLink"
	TypeTypingStart = "typing_start"
	TypeTypingEnd   = "typing_end"
	// TypeClose: the customer closed (deleted) the conversation or blocked
	// the business. Only a customer sends it.
	TypeClose = "close"
)

// AppleBID is the balloon id of Apple's built-in interactive messages
// (list picker, time picker, quick reply, form).
const AppleBID = "com.apple.messages.MSMessageExtensionBalloonPlugin:0000000000:com.apple.icloud.apps.messages.business.extension"

// Delivery headers.
const (
	HeaderSourceID       = "source-id"
	HeaderDestinationID  = "destination-id"
	HeaderCapabilityList = "capability-list"
)

// objectReplacement stands for an attachment in a message body.
const objectReplacement = "\uFFFC"

// flexString reads a JSON string or number as a string; anything else is
// read as empty rather than failing a whole delivery over one odd field.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*f = flexString(n.String())
	default:
		*f = ""
	}
	return nil
}

// message is one delivery's body (and an outbound body's shape).
type message struct {
	ID                 flexString      `json:"id"`
	Type               string          `json:"type"`
	SourceID           flexString      `json:"sourceId"`
	DestinationID      flexString      `json:"destinationId"`
	Body               string          `json:"body"`
	Locale             string          `json:"locale"`
	Attachments        []inAttachment  `json:"attachments"`
	InteractiveData    json.RawMessage `json:"interactiveData"`
	InteractiveDataRef *dataRef        `json:"interactiveDataRef"`
}

// inAttachment is an attachment dictionary, under both the names of
// Apple's current reference (key, url, owner, signature, mimeType, size)
// and those of its older sample code (decryption-key, mmcs-url, …).
type inAttachment struct {
	Name            flexString `json:"name"`
	MimeType        flexString `json:"mimeType"`
	MimeTypeLegacy  flexString `json:"mime-type"`
	Key             flexString `json:"key"`
	DecryptionKey   flexString `json:"decryption-key"`
	URL             flexString `json:"url"`
	MMCSURL         flexString `json:"mmcs-url"`
	Owner           flexString `json:"owner"`
	MMCSOwner       flexString `json:"mmcs-owner"`
	Signature       flexString `json:"signature"`
	SignatureHex    flexString `json:"mmcs-signature-hex"`
	SignatureBase64 flexString `json:"signature-base64"`
}

// interactiveData is a customer's answer to an interactive message.
type interactiveData struct {
	BID             string     `json:"bid"`
	Data            *replyData `json:"data"`
	ReceivedMessage *bubble    `json:"receivedMessage"`
	ReplyMessage    *bubble    `json:"replyMessage"`
}

type bubble struct {
	Title    flexString `json:"title"`
	Subtitle flexString `json:"subtitle"`
}

type replyData struct {
	RequestIdentifier flexString `json:"requestIdentifier"`
	ListPicker        *struct {
		Sections []struct {
			Title flexString `json:"title"`
			Items []listItem `json:"items"`
		} `json:"sections"`
	} `json:"listPicker"`
	Event *struct {
		Identifier     flexString `json:"identifier"`
		Title          flexString `json:"title"`
		Timeslots      []timeslot `json:"timeslots"`
		TimezoneOffset flexString `json:"timezoneOffset"`
	} `json:"event"`
	QuickReply *struct {
		SelectedIndex      flexString `json:"selectedIndex"`
		SelectedIdentifier flexString `json:"selectedIdentifier"`
		Items              []struct {
			Identifier flexString `json:"identifier"`
			Title      flexString `json:"title"`
		} `json:"items"`
	} `json:"quick-reply"`
	Dynamic *struct {
		Template   string     `json:"template"`
		Selections []formPage `json:"selections"`
		Data       *struct {
			Selections []formPage `json:"selections"`
		} `json:"data"`
	} `json:"dynamic"`
}

type listItem struct {
	Identifier flexString `json:"identifier"`
	Title      flexString `json:"title"`
	Selected   *bool      `json:"selected"`
}

type timeslot struct {
	Identifier flexString `json:"identifier"`
	StartTime  flexString `json:"startTime"`
	Duration   flexString `json:"duration"`
}

// formPage is one answered page of a form: our renderer's page
// identifiers are the fields' indexes, select items' identifiers the option
// ids.
type formPage struct {
	PageIdentifier flexString `json:"pageIdentifier"`
	Title          flexString `json:"title"`
	Items          []struct {
		Identifier flexString `json:"identifier"`
		Title      flexString `json:"title"`
		Value      flexString `json:"value"`
	} `json:"items"`
}

// quickItem is one quick-reply item as sent, remembered by
// requestIdentifier for replies that only carry its index.
type quickItem struct {
	Identifier string
	Title      string
}

// choiceID is what a content option or slot id looks like; a reply's
// identifiers become InboundEvent.ChoiceID only when they all do.
var choiceID = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// decodeBody undoes gzip when the body starts with gzip's magic number
// (whatever Content-Encoding says: the core hands over the raw body), at
// most MaxBodyBytes once decompressed.
func decodeBody(body []byte) ([]byte, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		if len(body) > MaxBodyBytes {
			return nil, channel.Malformed("body", "larger than %d bytes", MaxBodyBytes)
		}
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, channel.Malformed("body", "not valid gzip: %v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxBodyBytes+1))
	if err != nil {
		return nil, channel.Malformed("body", "not valid gzip: %v", err)
	}
	if len(out) > MaxBodyBytes {
		return nil, channel.Malformed("body", "larger than %d bytes once decompressed", MaxBodyBytes)
	}
	return out, nil
}

func decodeMessage(body []byte) (message, error) {
	var m message
	plain, err := decodeBody(body)
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(plain, &m); err != nil {
		return m, channel.Malformed("body", "not an MSP message: %v", err)
	}
	return m, nil
}

// participants finds the customer (the sender) of a delivery and checks it
// is addressed to this point of contact's business. echo reports the
// business's own message coming back, which is skipped.
func participants(r *http.Request, m message, business string) (customer string, echo bool, err error) {
	pick := func(field, header, body string) (string, error) {
		h := strings.TrimSpace(r.Header.Get(header))
		b := strings.TrimSpace(body)
		if h != "" && b != "" && h != b {
			return "", channel.Malformed(field, "the %s header (%q) and the body (%q) disagree", header, clip(h, 80), clip(b, 80))
		}
		if len(h) > MaxIDLength || len(b) > MaxIDLength {
			return "", channel.Malformed(field, "longer than %d characters", MaxIDLength)
		}
		if b != "" {
			return b, nil
		}
		return h, nil
	}
	src, err := pick("sourceId", HeaderSourceID, string(m.SourceID))
	if err != nil {
		return "", false, err
	}
	dst, err := pick("destinationId", HeaderDestinationID, string(m.DestinationID))
	if err != nil {
		return "", false, err
	}
	if src == "" {
		return "", false, channel.Malformed("sourceId", "required: the customer's opaque id")
	}
	if business != "" && src == business {
		return "", true, nil
	}
	if dst != "" && business != "" && dst != business {
		return "", false, channel.Malformed("destinationId", "addressed to business %q, not to this point of contact's %q", clip(dst, 80), business)
	}
	return src, false, nil
}

// parseCapabilities reads a capability-list header ("LIST,TIME,QUICK").
func parseCapabilities(h string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(h, func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		f = strings.ToUpper(strings.TrimSpace(f))
		if f == "" || len(f) > 32 || contains(out, f) {
			continue
		}
		out = append(out, f)
		if len(out) == 32 {
			break
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}

// Capabilities returns the capability list of a customer's last message
// on a point of contact (from memory: empty after a restart).
func (a *Adapter) Capabilities(pocID, customerID string) ([]string, bool) {
	caps, ok := a.capabilities.get(cacheKey(pocID, customerID))
	return append([]string(nil), caps...), ok
}

// Parse turns one delivery into canonical events: a text (with its
// attachments) or an answer to an interactive message becomes a message;
// typing indicators and close are skipped (see ClosedConversation); the
// business's own messages are filtered. The capability-list header is
// remembered for the Sender.
func (a *Adapter) Parse(r *http.Request, body []byte, poc *channel.PointOfContact) ([]channel.InboundEvent, error) {
	m, err := decodeMessage(body)
	if err != nil {
		return nil, err
	}
	customer, echo, err := participants(r, m, poc.SettingString(SettingBusinessID))
	if err != nil {
		return nil, err
	}
	if echo {
		return []channel.InboundEvent{}, nil
	}
	// An empty or missing header says nothing: what is known stays.
	if caps := parseCapabilities(strings.Join(r.Header.Values(HeaderCapabilityList), ",")); len(caps) > 0 {
		a.capabilities.put(cacheKey(poc.ID, customer), caps)
	}
	switch m.Type {
	case TypeText, TypeInteractive:
	default:
		// typing_start, typing_end, close and anything newer: nothing the
		// core stores. A close is recognised by ClosedConversation.
		return []channel.InboundEvent{}, nil
	}
	id := strings.TrimSpace(string(m.ID))
	if id == "" {
		return nil, channel.Malformed("id", "required: the message's id")
	}
	if len(id) > MaxIDLength {
		return nil, channel.Malformed("id", "longer than %d characters", MaxIDLength)
	}
	ev := channel.InboundEvent{Kind: channel.EventMessage, PlatformMessageID: id, ThreadID: customer, AuthorID: customer, SentAt: a.now().UTC()}
	if m.Type == TypeText {
		secret, _ := secretKey(poc.Credential(CredentialMSPSecret))
		var notes []string
		ev.Attachments, notes = attachments(secret, m.Attachments)
		ev.Text = joinText(cleanBody(m.Body), strings.Join(notes, "\n"))
		if ev.Text == "" && len(ev.Attachments) == 0 {
			return []channel.InboundEvent{}, nil
		}
		return []channel.InboundEvent{ev}, nil
	}
	raw := m.InteractiveData
	if (len(raw) == 0 || string(raw) == "null") && m.InteractiveDataRef != nil {
		if raw, err = a.resolveDataRef(r.Context(), poc, m.InteractiveDataRef); err != nil {
			// Not malformed: the gateway redelivers when this fails.
			return nil, fmt.Errorf("apple: interactive reply %s by reference: %v", id, err)
		}
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, channel.Malformed("interactiveData", "required for an interactive message")
	}
	var in interactiveData
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, channel.Malformed("interactiveData", "not an interactive reply: %v", err)
	}
	a.readReply(&ev, in, poc)
	if ev.Text == "" {
		ev.Text = cleanBody(m.Body)
	}
	if ev.Text == "" {
		ev.Text = "[interactive reply]"
	}
	return []channel.InboundEvent{ev}, nil
}

// readReply fills Text, ChoiceID and ReplyToPlatformID from an answer to
// one of the interactive messages the content engine renders.
func (a *Adapter) readReply(ev *channel.InboundEvent, in interactiveData, poc *channel.PointOfContact) {
	title := func(b *bubble) string {
		if b == nil {
			return ""
		}
		return oneLine(string(b.Title))
	}
	fallback := firstNonEmpty(title(in.ReplyMessage), title(in.ReceivedMessage))
	d := in.Data
	if d == nil {
		ev.Text = fallback
		return
	}
	requestID := strings.TrimSpace(string(d.RequestIdentifier))
	if requestID != "" && len(requestID) <= 128 {
		// Our requestIdentifier is the outbound message's id, which is
		// also the platform id it was sent under.
		ev.ReplyToPlatformID = requestID
	}
	var ids, labels []string
	switch {
	case d.ListPicker != nil:
		for _, s := range d.ListPicker.Sections {
			for _, it := range s.Items {
				if it.Selected != nil && !*it.Selected {
					continue
				}
				ids = append(ids, strings.TrimSpace(string(it.Identifier)))
				labels = append(labels, firstNonEmpty(oneLine(string(it.Title)), string(it.Identifier)))
			}
		}
	case d.Event != nil && len(d.Event.Timeslots) > 0:
		slot := d.Event.Timeslots[0]
		ids = []string{strings.TrimSpace(string(slot.Identifier))}
		labels = []string{firstNonEmpty(slotLabel(slot, string(d.Event.TimezoneOffset)), string(slot.Identifier))}
	case d.QuickReply != nil:
		ids, labels = a.quickReplyAnswer(d, poc, requestID)
	case d.Dynamic != nil:
		readForm(ev, d)
		if ev.Text == "" {
			ev.Text = fallback
		}
		return
	default:
		ev.Text = fallback
		return
	}
	ev.Text = strings.Join(labels, ", ")
	if validChoice(ids) {
		ev.ChoiceID = strings.Join(ids, ",")
	}
}

// quickReplyAnswer finds the chosen quick reply: its identifier when the
// reply names it, else the item at selectedIndex of the items the reply
// echoes or, failing that, of those Parley sent under this
// requestIdentifier. With nothing else known, the answer's text is its
// position ("2"), which the pending prompt's numbering resolves: quick
// replies are numbered in the order they are sent.
func (a *Adapter) quickReplyAnswer(d *replyData, poc *channel.PointOfContact, requestID string) (ids, labels []string) {
	qr := d.QuickReply
	id := strings.TrimSpace(string(qr.SelectedIdentifier))
	idx, err := strconv.Atoi(strings.TrimSpace(string(qr.SelectedIndex)))
	hasIndex := err == nil && idx >= 0 && idx < 1000
	items := make([]quickItem, 0, len(qr.Items))
	for _, it := range qr.Items {
		items = append(items, quickItem{Identifier: strings.TrimSpace(string(it.Identifier)), Title: oneLine(string(it.Title))})
	}
	if len(items) == 0 && requestID != "" {
		items, _ = a.quickReplies.get(cacheKey(poc.ID, requestID))
	}
	if id == "" && hasIndex && idx < len(items) {
		id = items[idx].Identifier
	}
	label := ""
	for _, it := range items {
		if id != "" && it.Identifier == id {
			label = it.Title
			break
		}
	}
	switch {
	case label == "" && id != "":
		label = id
	case label == "" && hasIndex:
		label = strconv.Itoa(idx + 1)
	}
	if id == "" {
		return nil, []string{label}
	}
	return []string{id}, []string{label}
}

// readForm writes a submitted form as text, one "question: answer" line
// per page, and gives a form of a single single-choice answer its option
// id as ChoiceID. (The core has no field for the whole set of values yet.)
func readForm(ev *channel.InboundEvent, d *replyData) {
	pages := d.Dynamic.Selections
	if len(pages) == 0 && d.Dynamic.Data != nil {
		pages = d.Dynamic.Data.Selections
	}
	var lines []string
	for _, p := range pages {
		var answers []string
		for _, it := range p.Items {
			answers = append(answers, firstNonEmpty(oneLine(string(it.Title)), oneLine(string(it.Value)), string(it.Identifier)))
		}
		q := firstNonEmpty(oneLine(string(p.Title)), "Page "+string(p.PageIdentifier))
		lines = append(lines, q+": "+strings.Join(answers, ", "))
	}
	ev.Text = strings.Join(lines, "\n")
	if len(pages) == 1 && len(pages[0].Items) == 1 {
		if id := strings.TrimSpace(string(pages[0].Items[0].Identifier)); validChoice([]string{id}) {
			ev.ChoiceID = id
		}
	}
}

func validChoice(ids []string) bool {
	if len(ids) == 0 {
		return false
	}
	n := 0
	for _, id := range ids {
		if !choiceID.MatchString(id) {
			return false
		}
		n += len(id) + 1
	}
	return n <= 1024
}

// slotLabel writes a chosen time slot for the transcript, in the event's
// zone when the reply gives its offset (minutes east of UTC).
func slotLabel(s timeslot, offset string) string {
	start, ok := parseSlotTime(string(s.StartTime))
	if !ok {
		return ""
	}
	loc := time.UTC
	if mins, err := strconv.ParseFloat(strings.TrimSpace(offset), 64); err == nil && math.Abs(mins) <= 18*60 {
		loc = time.FixedZone("", int(mins)*60)
	}
	start = start.In(loc)
	label := start.Format("Monday 2 Jan 2006, 15:04")
	if secs, err := strconv.ParseFloat(strings.TrimSpace(string(s.Duration)), 64); err == nil && secs > 0 && secs <= 86400 {
		label += "–" + start.Add(time.Duration(secs)*time.Second).Format("15:04")
	}
	if loc == time.UTC {
		label += " UTC"
	}
	return label
}

// parseSlotTime reads Apple's "2026-05-26T08:27+0000" and its neighbours.
func parseSlotTime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04-0700", "2006-01-02T15:04Z0700", "2006-01-02T15:04:05-0700", time.RFC3339, "2006-01-02T15:04Z07:00"} {
		if t, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// attachments turns a text message's attachment dictionaries into
// InboundAttachments: an encrypted file (with a key) becomes a sealed
// MediaRef for FetchMedia; a plain https URL without key is fetched as it
// is. One that cannot be read is left out with a note for the agent,
// rather than losing the whole message.
func attachments(secret []byte, in []inAttachment) ([]channel.InboundAttachment, []string) {
	var out []channel.InboundAttachment
	var notes []string
	for i, at := range in {
		if i == MaxAttachments*2 {
			notes = append(notes, fmt.Sprintf("(%d more attachments were not kept)", len(in)-i))
			break
		}
		name := clip(oneLine(string(at.Name)), 255)
		mt := clip(strings.TrimSpace(firstNonEmpty(string(at.MimeType), string(at.MimeTypeLegacy))), 255)
		key := strings.TrimSpace(firstNonEmpty(string(at.Key), string(at.DecryptionKey)))
		fileURL := strings.TrimSpace(firstNonEmpty(string(at.URL), string(at.MMCSURL)))
		owner := strings.TrimSpace(firstNonEmpty(string(at.Owner), string(at.MMCSOwner)))
		unreadable := func() {
			label := name
			if label == "" {
				label = fmt.Sprintf("#%d", i+1)
			}
			notes = append(notes, fmt.Sprintf("(attachment %s could not be read)", label))
		}
		if key == "" {
			if strings.HasPrefix(fileURL, "https://") && absoluteHTTP(fileURL) && len(fileURL) <= 4096 {
				out = append(out, channel.InboundAttachment{URL: fileURL, MimeType: mt, Name: name})
			} else {
				unreadable()
			}
			continue
		}
		sig, err := signatureBase64(string(at.SignatureBase64), firstNonEmpty(string(at.Signature), string(at.SignatureHex)))
		if _, kerr := decryptionKey(key); err != nil || kerr != nil || fileURL == "" || owner == "" || len(secret) == 0 ||
			len(fileURL)+len(owner)+len(sig) > 8192 {
			unreadable()
			continue
		}
		ref, err := sealRef(secret, mediaRef{URL: fileURL, Owner: owner, Signature: sig, Key: key, MimeType: mt})
		if err != nil {
			unreadable()
			continue
		}
		out = append(out, channel.InboundAttachment{MediaRef: ref, MimeType: mt, Name: name})
	}
	return out, notes
}

// cleanBody drops the object-replacement characters that stand for
// attachments in a body, and surrounding space.
func cleanBody(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.TrimSpace(strings.ReplaceAll(s, objectReplacement, ""))
}

func joinText(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " ")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// clip cuts s to at most n bytes on a character boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ClosedConversation reports whether a delivery is the customer closing
// the conversation (the "close" type: the customer deleted the chat or
// blocked the business), and who closed it. Parse skips it, since the
// contract has no event for it yet; the core can call this on an
// authenticated delivery to end the conversation.
func ClosedConversation(r *http.Request, body []byte) (customerID string, ok bool) {
	m, err := decodeMessage(body)
	if err != nil || m.Type != TypeClose {
		return "", false
	}
	customerID = strings.TrimSpace(string(m.SourceID))
	if customerID == "" && r != nil {
		customerID = strings.TrimSpace(r.Header.Get(HeaderSourceID))
	}
	if customerID == "" || len(customerID) > MaxIDLength {
		return "", false
	}
	return customerID, true
}
