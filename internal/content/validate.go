package content

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"mime"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of the canonical model. Channel limits are smaller and applied at
// render time; these are what no channel could show at all.
const (
	MaxTextLen        = 4096
	MaxTitleLen       = 128
	MaxLabelLen       = 40
	MaxDescriptionLen = 72
	MaxPostbackLen    = 1024
	MaxQuickReplies   = 10
	MaxListOptions    = 100
	MaxSlots          = 50
	MaxFields         = 20
	MaxFieldLen       = 256
	MaxCarouselItems  = 10
	MaxCardActions    = 3
	MaxAdaptiveCard   = "1.5"
	maxPatternLen     = 256
	maxAdaptiveBytes  = 28 * 1024 // Bot Framework's activity size limit for a card
	maxFileNameLen    = 255
)

// ValidationError says which field of a Content is wrong and why. Field is
// a JSON path ("options[2].id") so the HTTP layer can name it in a 400
// problem+json without knowing the model.
type ValidationError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return "invalid content: " + e.Reason
	}
	return "invalid content: " + e.Field + ": " + e.Reason
}

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

func validID(s string) bool { return idPattern.MatchString(s) }

// Validate rejects content that no channel could show. It returns nil or a
// *ValidationError naming the first bad field. Content that passes renders
// on every channel, at worst as plain text.
func (c *Content) Validate() error {
	if err := c.validate(); err != nil {
		return err
	}
	return nil
}

// uses lists which optional fields each type may carry, so a field set on
// the wrong type (options on a text message) is reported instead of being
// silently dropped by every renderer.
func (c *Content) checkUnused() *ValidationError {
	t := c.Type
	is := func(ts ...Type) bool {
		for _, x := range ts {
			if t == x {
				return true
			}
		}
		return false
	}
	switch {
	case len(c.Options) > 0 && !is(TypeQuickReplies, TypeListPicker, TypeCard):
		return invalid("options", "not used by type %s", t)
	case len(c.Sections) > 0 && t != TypeListPicker:
		return invalid("sections", "only list_picker has sections")
	case c.MultiSelect && t != TypeListPicker:
		return invalid("multi_select", "only list_picker is multi-select (use a select field in a form)")
	case c.Persistent && t != TypeListPicker:
		return invalid("persistent", "only list_picker rows stay selectable; quick replies are single-use")
	case len(c.Slots) > 0 && t != TypeTimePicker:
		return invalid("slots", "only time_picker has slots")
	case c.Timezone != "" && t != TypeTimePicker:
		return invalid("timezone", "only time_picker has a timezone")
	case c.Location != nil && !is(TypeTimePicker, TypeLocation):
		return invalid("location", "not used by type %s", t)
	case len(c.Fields) > 0 && t != TypeForm:
		return invalid("fields", "only form has fields")
	case len(c.Items) > 0 && t != TypeCarousel:
		return invalid("items", "only carousel has items")
	case c.Link != nil && !is(TypeRichLink, TypeCard):
		return invalid("link", "not used by type %s", t)
	case c.Media != nil && !is(TypeFile, TypeCard):
		return invalid("media", "not used by type %s", t)
	case len(c.AdaptiveCard) > 0 && t != TypeAdaptiveCard:
		return invalid("adaptive_card", "only type adaptive_card carries a card")
	}
	return nil
}

func (c *Content) validate() *ValidationError {
	if !knownType(c.Type) {
		if c.Type == "" {
			return invalid("type", "required")
		}
		return invalid("type", "unknown type %q", c.Type)
	}
	if err := checkString("text", c.Text, MaxTextLen); err != nil {
		return err
	}
	if err := checkString("title", c.Title, MaxTitleLen); err != nil {
		return err
	}
	if err := checkString("fallback_text", c.FallbackText, MaxTextLen); err != nil {
		return err
	}
	if err := c.checkUnused(); err != nil {
		return err
	}
	for ch, raw := range c.Overrides {
		if !KnownChannelType(ch) {
			return invalid("overrides."+ch, "unknown channel type")
		}
		if !json.Valid(raw) || len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			return invalid("overrides."+ch, "must be a JSON value")
		}
	}
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	switch c.Type {
	case TypeText, TypeHTML, TypeMarkdown:
		if blank(c.Text) {
			return invalid("text", "required for type %s", c.Type)
		}
	case TypeQuickReplies, TypeListPicker:
		if blank(c.Text) && blank(c.Title) {
			return invalid("text", "a prompt (text or title) is required")
		}
		max := MaxQuickReplies
		if c.Type == TypeListPicker {
			max = MaxListOptions
		}
		if err := checkOptions("options", c.Options, 1, max, true); err != nil {
			return err
		}
		if err := checkSections(c.Sections, c.Options); err != nil {
			return err
		}
	case TypeTimePicker:
		if blank(c.Text) && blank(c.Title) {
			return invalid("text", "a prompt (text or title) is required")
		}
		if err := checkSlots(c.Slots); err != nil {
			return err
		}
		if c.Timezone != "" {
			if _, err := loadZone(c.Timezone); err != nil {
				return invalid("timezone", "not an IANA time zone")
			}
		}
		if c.Location != nil {
			if err := checkLocation("location", c.Location); err != nil {
				return err
			}
		}
	case TypeForm:
		if blank(c.Text) && blank(c.Title) {
			return invalid("text", "a prompt (text or title) is required")
		}
		if err := checkFields(c.Fields); err != nil {
			return err
		}
	case TypeRichLink:
		if c.Link == nil {
			return invalid("link", "required for type rich_link")
		}
		if err := checkLink("link", c.Link); err != nil {
			return err
		}
	case TypeCard:
		if blank(c.Text) && blank(c.Title) {
			return invalid("title", "a card needs a title or a text")
		}
		if err := checkOptions("options", c.Options, 0, MaxCardActions, false); err != nil {
			return err
		}
		if c.Link != nil {
			if err := checkLink("link", c.Link); err != nil {
				return err
			}
		}
		if c.Media != nil {
			if err := checkMedia("media", c.Media); err != nil {
				return err
			}
			if c.Media.URL == "" {
				return invalid("media.url", "a card image needs an https URL")
			}
		}
	case TypeCarousel:
		if err := checkCards(c.Items); err != nil {
			return err
		}
	case TypeAdaptiveCard:
		if blank(c.FallbackText) {
			return invalid("fallback_text", "required for adaptive_card: most channels only show it")
		}
		if err := checkAdaptiveCard(c.AdaptiveCard); err != nil {
			return err
		}
	case TypeFile:
		if c.Media == nil {
			return invalid("media", "required for type file")
		}
		if err := checkMedia("media", c.Media); err != nil {
			return err
		}
	case TypeLocation:
		if c.Location == nil {
			return invalid("location", "required for type location")
		}
		if err := checkLocation("location", c.Location); err != nil {
			return err
		}
	}
	return nil
}

func knownType(t Type) bool {
	for _, x := range Types() {
		if x == t {
			return true
		}
	}
	return false
}

// checkString checks UTF-8 validity and a length in characters.
func checkString(field, s string, max int) *ValidationError {
	if !utf8.ValidString(s) {
		return invalid(field, "not valid UTF-8")
	}
	if n := utf8.RuneCountInString(s); n > max {
		return invalid(field, "%d characters, at most %d", n, max)
	}
	return nil
}

func checkRequiredString(field, s string, max int) *ValidationError {
	if strings.TrimSpace(s) == "" {
		return invalid(field, "required")
	}
	return checkString(field, s, max)
}

// checkHTTPS accepts only absolute https URLs with a host: every channel
// that shows media or links requires https, and other schemes
// (javascript:, data:, file:) are never something to show a customer.
func checkHTTPS(field, raw string) *ValidationError {
	if len(raw) > 2048 {
		return invalid(field, "URL longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Opaque != "" {
		return invalid(field, "must be an absolute https URL")
	}
	if strings.ContainsAny(raw, " \t\r\n\"'<>\\") {
		return invalid(field, "must be an absolute https URL")
	}
	return nil
}

var phonePattern = regexp.MustCompile(`^\+[1-9][0-9]{5,14}$`)

func checkOptions(field string, opts []Option, min, max int, answersOnly bool) *ValidationError {
	if len(opts) < min {
		if min == 1 {
			return invalid(field, "at least one option is required")
		}
		return invalid(field, "at least %d options are required", min)
	}
	if len(opts) > max {
		return invalid(field, "%d options, at most %d", len(opts), max)
	}
	seen := make(map[string]bool, len(opts))
	for i, o := range opts {
		f := fmt.Sprintf("%s[%d]", field, i)
		if !validID(o.ID) {
			return invalid(f+".id", "must match [A-Za-z0-9_.:-]{1,64}")
		}
		if seen[o.ID] {
			return invalid(f+".id", "duplicate id %q", o.ID)
		}
		seen[o.ID] = true
		if err := checkRequiredString(f+".label", o.Label, MaxLabelLen); err != nil {
			return err
		}
		if err := checkString(f+".description", o.Description, MaxDescriptionLen); err != nil {
			return err
		}
		if o.IconURL != "" {
			if err := checkHTTPS(f+".icon_url", o.IconURL); err != nil {
				return err
			}
		}
		if len(o.Postback) > MaxPostbackLen {
			return invalid(f+".postback", "%d bytes, at most %d", len(o.Postback), MaxPostbackLen)
		}
		if !utf8.ValidString(o.Postback) {
			return invalid(f+".postback", "not valid UTF-8")
		}
		switch o.kindOrReply() {
		case OptionReply, OptionPostback:
		case OptionURL:
			if answersOnly {
				return invalid(f+".kind", "url options belong on cards; a picker option must be an answer")
			}
			if err := checkHTTPS(f+".postback", o.Postback); err != nil {
				return err
			}
		case OptionCall:
			if answersOnly {
				return invalid(f+".kind", "call options belong on cards; a picker option must be an answer")
			}
			if !phonePattern.MatchString(o.Postback) {
				return invalid(f+".postback", "a call option needs an E.164 phone number")
			}
		default:
			return invalid(f+".kind", "unknown kind %q (reply, postback, url, call)", o.Kind)
		}
	}
	return nil
}

func checkSections(sections []Section, opts []Option) *ValidationError {
	if len(sections) == 0 {
		return nil
	}
	if len(sections) > 10 {
		return invalid("sections", "%d sections, at most 10", len(sections))
	}
	ids := make(map[string]bool, len(opts))
	for _, o := range opts {
		ids[o.ID] = true
	}
	used := make(map[string]bool)
	for i, s := range sections {
		f := fmt.Sprintf("sections[%d]", i)
		if err := checkRequiredString(f+".title", s.Title, MaxLabelLen); err != nil {
			return err
		}
		if len(s.OptionIDs) == 0 {
			return invalid(f+".option_ids", "a section needs at least one option")
		}
		for j, id := range s.OptionIDs {
			ff := fmt.Sprintf("%s.option_ids[%d]", f, j)
			if !ids[id] {
				return invalid(ff, "no option with id %q", id)
			}
			if used[id] {
				return invalid(ff, "option %q is already in a section", id)
			}
			used[id] = true
		}
	}
	return nil
}

func checkSlots(slots []TimeSlot) *ValidationError {
	if len(slots) == 0 {
		return invalid("slots", "at least one slot is required")
	}
	if len(slots) > MaxSlots {
		return invalid("slots", "%d slots, at most %d", len(slots), MaxSlots)
	}
	seen := make(map[string]bool, len(slots))
	for i, s := range slots {
		f := fmt.Sprintf("slots[%d]", i)
		if !validID(s.ID) {
			return invalid(f+".id", "must match [A-Za-z0-9_.:-]{1,64}")
		}
		if seen[s.ID] {
			return invalid(f+".id", "duplicate id %q", s.ID)
		}
		seen[s.ID] = true
		if _, err := time.Parse(time.RFC3339, s.Start); err != nil {
			return invalid(f+".start", "must be an RFC 3339 time (2025-11-24T09:00:00+01:00)")
		}
		if s.DurationSec < 60 || s.DurationSec > 86400 {
			return invalid(f+".duration_sec", "must be between 60 and 86400 seconds")
		}
		if err := checkString(f+".label", s.Label, MaxLabelLen); err != nil {
			return err
		}
	}
	return nil
}

func checkLocation(field string, l *Location) *ValidationError {
	if math.IsNaN(l.Latitude) || l.Latitude < -90 || l.Latitude > 90 {
		return invalid(field+".latitude", "must be between -90 and 90")
	}
	if math.IsNaN(l.Longitude) || l.Longitude < -180 || l.Longitude > 180 {
		return invalid(field+".longitude", "must be between -180 and 180")
	}
	if math.IsNaN(l.RadiusM) || l.RadiusM < 0 || l.RadiusM > 1e6 {
		return invalid(field+".radius_m", "must be between 0 and 1000000")
	}
	if err := checkString(field+".title", l.Title, MaxTitleLen); err != nil {
		return err
	}
	return checkString(field+".address", l.Address, 256)
}

func checkFields(fields []Field) *ValidationError {
	if len(fields) == 0 {
		return invalid("fields", "at least one field is required")
	}
	if len(fields) > MaxFields {
		return invalid("fields", "%d fields, at most %d", len(fields), MaxFields)
	}
	seen := make(map[string]bool, len(fields))
	for i, fd := range fields {
		f := fmt.Sprintf("fields[%d]", i)
		if !validID(fd.Name) {
			return invalid(f+".name", "must match [A-Za-z0-9_.:-]{1,64}")
		}
		if seen[fd.Name] {
			return invalid(f+".name", "duplicate name %q", fd.Name)
		}
		seen[fd.Name] = true
		switch fd.Type {
		case FieldText, FieldEmail, FieldPhone, FieldNumber, FieldDate, FieldSelect:
		default:
			return invalid(f+".type", "unknown field type %q (text, email, phone, number, date, select)", fd.Type)
		}
		if err := checkRequiredString(f+".label", fd.Label, MaxTitleLen); err != nil {
			return err
		}
		if err := checkString(f+".placeholder", fd.Placeholder, MaxTitleLen); err != nil {
			return err
		}
		if fd.MaxLen < 0 || fd.MaxLen > MaxFieldLen {
			return invalid(f+".max_len", "must be between 0 and %d", MaxFieldLen)
		}
		if fd.MinLen < 0 || fd.MinLen > fd.maxLen() {
			return invalid(f+".min_len", "must be between 0 and max_len")
		}
		if fd.Pattern != "" {
			if len(fd.Pattern) > maxPatternLen {
				return invalid(f+".pattern", "at most %d bytes", maxPatternLen)
			}
			if _, err := regexp.Compile(fd.Pattern); err != nil {
				return invalid(f+".pattern", "not a valid regular expression")
			}
		}
		if fd.Type == FieldSelect {
			if err := checkOptions(f+".options", fd.Options, 1, MaxListOptions, true); err != nil {
				return err
			}
		} else {
			if len(fd.Options) > 0 {
				return invalid(f+".options", "only select fields have options")
			}
			if fd.MultiSelect {
				return invalid(f+".multi_select", "only select fields are multi-select")
			}
		}
	}
	return nil
}

func (f Field) maxLen() int {
	if f.MaxLen == 0 {
		return MaxFieldLen
	}
	return f.MaxLen
}

func checkLink(field string, l *Link) *ValidationError {
	if err := checkHTTPS(field+".url", l.URL); err != nil {
		return err
	}
	if err := checkString(field+".title", l.Title, MaxTitleLen); err != nil {
		return err
	}
	if l.ImageURL != "" {
		return checkHTTPS(field+".image_url", l.ImageURL)
	}
	return nil
}

func checkMedia(field string, m *Media) *ValidationError {
	if (m.URL == "") == (m.AttachmentID == "") {
		return invalid(field, "exactly one of url and attachment_id is required")
	}
	if m.URL != "" {
		if err := checkHTTPS(field+".url", m.URL); err != nil {
			return err
		}
	}
	if m.AttachmentID != "" && !validID(m.AttachmentID) {
		return invalid(field+".attachment_id", "must match [A-Za-z0-9_.:-]{1,64}")
	}
	if m.MimeType != "" {
		mt, _, err := mime.ParseMediaType(m.MimeType)
		if err != nil || !strings.Contains(mt, "/") {
			return invalid(field+".mime_type", "not a media type")
		}
	}
	if err := checkString(field+".file_name", m.FileName, maxFileNameLen); err != nil {
		return err
	}
	if strings.ContainsAny(m.FileName, "/\\\x00\r\n") || m.FileName == "." || m.FileName == ".." {
		return invalid(field+".file_name", "a file name, not a path")
	}
	return checkString(field+".alt", m.Alt, MaxTitleLen*2)
}

func checkCards(items []Card) *ValidationError {
	if len(items) == 0 {
		return invalid("items", "at least one card is required")
	}
	if len(items) > MaxCarouselItems {
		return invalid("items", "%d cards, at most %d", len(items), MaxCarouselItems)
	}
	seen := make(map[string]bool)
	for i, it := range items {
		f := fmt.Sprintf("items[%d]", i)
		if strings.TrimSpace(it.Title) == "" && strings.TrimSpace(it.Subtitle) == "" {
			return invalid(f+".title", "a card needs a title or a subtitle")
		}
		if err := checkString(f+".title", it.Title, MaxTitleLen); err != nil {
			return err
		}
		if err := checkString(f+".subtitle", it.Subtitle, MaxTitleLen*2); err != nil {
			return err
		}
		if it.MediaURL != "" {
			if err := checkHTTPS(f+".media_url", it.MediaURL); err != nil {
				return err
			}
		}
		if it.URL != "" {
			if err := checkHTTPS(f+".url", it.URL); err != nil {
				return err
			}
		}
		if err := checkOptions(f+".actions", it.Actions, 0, MaxCardActions, false); err != nil {
			return err
		}
		// Action ids are unique across the whole carousel: a reply names
		// one action without saying which card it was on.
		for j, a := range it.Actions {
			if seen[a.ID] {
				return invalid(fmt.Sprintf("%s.actions[%d].id", f, j), "duplicate id %q in the carousel", a.ID)
			}
			seen[a.ID] = true
		}
	}
	return nil
}

// checkAdaptiveCard accepts an Adaptive Card object whose version is at most
// 1.5, the highest version Teams and our widget both render.
func checkAdaptiveCard(raw json.RawMessage) *ValidationError {
	if len(raw) == 0 {
		return invalid("adaptive_card", "required for type adaptive_card")
	}
	if len(raw) > maxAdaptiveBytes {
		return invalid("adaptive_card", "larger than %d bytes", maxAdaptiveBytes)
	}
	var card struct {
		Type    *string `json:"type"`
		Version *string `json:"version"`
	}
	if err := json.Unmarshal(raw, &card); err != nil {
		return invalid("adaptive_card", "must be a JSON object")
	}
	if card.Type == nil || *card.Type != "AdaptiveCard" {
		return invalid("adaptive_card.type", `must be "AdaptiveCard"`)
	}
	if card.Version == nil {
		return invalid("adaptive_card.version", "required")
	}
	major, minor, ok := parseVersion(*card.Version)
	if !ok {
		return invalid("adaptive_card.version", "must look like 1.5")
	}
	if major > 1 || (major == 1 && minor > 5) {
		return invalid("adaptive_card.version", "%s is newer than %s", *card.Version, MaxAdaptiveCard)
	}
	return nil
}

func parseVersion(v string) (major, minor int, ok bool) {
	a, b, found := strings.Cut(v, ".")
	if !found || len(a) == 0 || len(b) == 0 || len(a) > 3 || len(b) > 3 {
		return 0, 0, false
	}
	ma, err1 := strconv.Atoi(a)
	mi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || ma < 0 || mi < 0 {
		return 0, 0, false
	}
	return ma, mi, true
}

// loadZone loads an IANA zone by name, refusing the names LoadLocation
// accepts that are not zones ("", "Local").
func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "Local" || len(name) > 64 || strings.ContainsAny(name, "\x00\\") {
		return nil, fmt.Errorf("content: bad time zone %q", name)
	}
	return time.LoadLocation(name)
}
