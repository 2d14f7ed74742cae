package ui

import (
	"encoding/json"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/inbox"
)

// entry is one item of a case's timeline: a message or an internal note.
type entry struct {
	At   time.Time
	Msg  *msgView
	Note *noteView
}

type noteView struct {
	ID, Author, Body string
	At               time.Time
}

// msgView is a message as the agent sees it: what the customer saw.
type msgView struct {
	ID          string
	Inbound     bool
	AuthorType  string // contact, agent, bot, system
	Author      string
	At          time.Time
	Text        string // the body as plain text (escaped by the template)
	Rich        *richView
	Rung        string // the rendering rung used ("text", "whatsapp.interactive.button", …)
	Native      bool   // the customer got the channel's native element
	Status      string // received, pending, sent, delivered, read, failed
	Reason      string // why it failed, or why it has not gone yet
	Attachments []attachmentView
	Choice      *choiceView
	Template    string
	Reaction    string
	Automated   bool
	// Public messages (comments on a post) can be moderated on the
	// platform; the Can* flags follow the user's channel permissions.
	Public                      bool
	Hidden, Deleted, Liked      bool
	CanHide, CanDelete, CanLike bool
}

type attachmentView struct {
	ID, Name, MimeType, URL string
	Size                    int64
	Image                   bool
}

type choiceView struct {
	Options []string
	Source  string
	Fields  []kv
	Slot    string
}

type kv struct{ K, V string }

// richView is a readable preview of canonical rich content, drawn from the
// canonical model (never from stored HTML).
type richView struct {
	Type        string
	Title, Text string
	Options     []optionView
	Sections    []sectionView
	MultiSelect bool
	Slots       []string
	Timezone    string
	Fields      []fieldView
	Link        *linkView
	Cards       []cardView
	Media       *linkView
	Location    *locationView
}

type optionView struct {
	ID, Label, Description, Kind string
	Href                         string // a safe http(s) link for url options
}

type sectionView struct {
	Title   string
	Options []optionView
}

type fieldView struct {
	Label, Type string
	Required    bool
	Options     []string
}

type linkView struct {
	Href, Title, Text string // Href only when http(s); Text always (the URL as text)
}

type cardView struct {
	Title, Subtitle string
	Link            *linkView
	Actions         []optionView
	Image           string // the image URL, shown as text (no third-party loads)
}

type locationView struct {
	Title, Address string
	Map            *linkView
}

// safeHref returns u when it is an absolute http(s) URL, else "": other
// schemes (javascript:, data:, …) are shown as text, never linked.
func safeHref(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
		return ""
	}
	return p.String()
}

func link(u, title string) *linkView {
	if u == "" {
		return nil
	}
	return &linkView{Href: safeHref(u), Title: title, Text: u}
}

func options(opts []content.Option) []optionView {
	out := make([]optionView, 0, len(opts))
	for _, o := range opts {
		v := optionView{ID: o.ID, Label: o.Label, Description: o.Description, Kind: string(o.Kind)}
		if o.Kind == content.OptionURL {
			v.Href = safeHref(o.Postback)
		}
		out = append(out, v)
	}
	return out
}

// rich builds the preview of canonical content; nil for plain text.
func rich(raw json.RawMessage, loc *time.Location) *richView {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var c content.Content
	if err := json.Unmarshal(raw, &c); err != nil || c.Type == "" || c.Type == content.TypeText {
		return nil
	}
	v := &richView{Type: string(c.Type), Title: c.Title, Text: c.Text, MultiSelect: c.MultiSelect, Timezone: c.Timezone}
	switch c.Type {
	case content.TypeQuickReplies:
		v.Options = options(c.Options)
	case content.TypeListPicker:
		if len(c.Sections) == 0 {
			v.Options = options(c.Options)
			break
		}
		byID := map[string]content.Option{}
		for _, o := range c.Options {
			byID[o.ID] = o
		}
		for _, s := range c.Sections {
			var opts []content.Option
			for _, id := range s.OptionIDs {
				opts = append(opts, byID[id])
			}
			v.Sections = append(v.Sections, sectionView{Title: s.Title, Options: options(opts)})
		}
	case content.TypeTimePicker:
		zone := time.UTC
		if c.Timezone != "" {
			if l, err := time.LoadLocation(c.Timezone); err == nil {
				zone = l
			}
		}
		if loc != nil {
			zone = loc
		}
		for _, s := range c.Slots {
			label := s.Label
			if label == "" {
				if t, err := time.Parse(time.RFC3339, s.Start); err == nil {
					end := t.Add(time.Duration(s.DurationSec) * time.Second)
					label = t.In(zone).Format("Mon 2 Jan 15:04") + "–" + end.In(zone).Format("15:04")
				} else {
					label = s.Start
				}
			}
			v.Slots = append(v.Slots, label)
		}
	case content.TypeForm:
		for _, f := range c.Fields {
			fv := fieldView{Label: f.Label, Type: string(f.Type), Required: f.Required}
			for _, o := range f.Options {
				fv.Options = append(fv.Options, o.Label)
			}
			v.Fields = append(v.Fields, fv)
		}
	case content.TypeRichLink:
		if c.Link != nil {
			v.Link = link(c.Link.URL, c.Link.Title)
		}
	case content.TypeCard:
		card := cardView{Title: c.Title, Subtitle: c.Text, Actions: options(c.Options)}
		if c.Link != nil {
			card.Link = link(c.Link.URL, c.Link.Title)
		}
		if c.Media != nil {
			card.Image = c.Media.URL
		}
		v.Cards = []cardView{card}
		v.Title, v.Text = "", ""
	case content.TypeCarousel:
		for _, it := range c.Items {
			v.Cards = append(v.Cards, cardView{Title: it.Title, Subtitle: it.Subtitle, Link: link(it.URL, ""), Actions: options(it.Actions), Image: it.MediaURL})
		}
	case content.TypeFile:
		if c.Media != nil {
			name := c.Media.FileName
			if name == "" {
				name = c.Media.URL
			}
			v.Media = link(c.Media.URL, name)
		}
	case content.TypeLocation:
		if c.Location != nil {
			v.Location = &locationView{Title: c.Location.Title, Address: c.Location.Address,
				Map: link("https://www.openstreetmap.org/?mlat="+ftoa(c.Location.Latitude)+"&mlon="+ftoa(c.Location.Longitude), "")}
		}
	case content.TypeAdaptiveCard, content.TypeHTML, content.TypeMarkdown:
		// Shown as the plain-text version the customer's channel got (or
		// the fallback text): never as markup.
		v.Text = c.FallbackText
		if c.Type != content.TypeAdaptiveCard {
			v.Text = ""
		}
	}
	return v
}

// messageView builds what the timeline shows of one message.
func (h *Handler) messageView(m *inbox.Message, c *inbox.Case, n *names, u *account.User) *msgView {
	v := &msgView{ID: m.ID, Inbound: m.Direction == inbox.Inbound, AuthorType: m.Author.Type, At: m.CreatedAt, Text: m.Text,
		Status: m.Status, Reason: m.StatusReason, Reaction: m.Reaction, Automated: m.Automated}
	switch m.Author.Type {
	case "contact":
		v.Author = c.ContactName
	case "agent":
		v.Author = n.users[m.Author.ID]
	}
	v.Rich = rich(m.Content, nil)
	if len(m.Rendered) > 0 && string(m.Rendered) != "null" {
		var r content.Rendered
		if err := json.Unmarshal(m.Rendered, &r); err == nil {
			v.Rung = r.Type
			v.Native = len(r.Native) > 0
			if r.Text != "" {
				v.Text = r.Text
			}
			// What the customer saw was text (a numbered list, a link
			// line): show exactly that, not the canonical preview.
			if !v.Native && r.Type != "attachment" {
				v.Rich = nil
			}
		}
	}
	if v.Rich != nil && v.Rich.Type == string(content.TypeHTML) || v.Rich != nil && v.Rich.Type == string(content.TypeMarkdown) {
		v.Rich = nil
	}
	if v.Rich != nil && v.Rich.Type == string(content.TypeAdaptiveCard) && v.Rich.Text == "" {
		v.Rich = nil
	}
	for _, a := range m.Attachments {
		av := attachmentView{ID: a.ID, Name: a.Name, MimeType: a.MimeType, Size: a.Size, URL: "/api/v1/attachments/" + url.PathEscape(a.ID)}
		switch a.MimeType {
		case "image/png", "image/jpeg", "image/gif", "image/webp":
			av.Image = true
		}
		v.Attachments = append(v.Attachments, av)
	}
	if len(m.Choice) > 0 {
		var ch content.Choice
		if json.Unmarshal(m.Choice, &ch) == nil {
			cv := &choiceView{Options: ch.OptionIDs, Source: string(ch.Source)}
			if ch.Slot != nil {
				cv.Slot = ch.Slot.Start
			}
			keys := make([]string, 0, len(ch.Fields))
			for k := range ch.Fields {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				cv.Fields = append(cv.Fields, kv{k, ch.Fields[k]})
			}
			v.Choice = cv
		}
	}
	if len(m.Template) > 0 {
		var t struct{ Name, Language string }
		if json.Unmarshal(m.Template, &t) == nil {
			v.Template = t.Name + " (" + t.Language + ")"
		}
	}
	v.Public, v.Hidden, v.Deleted, v.Liked = m.Visibility == inbox.VisibilityPublic, m.Hidden, m.Deleted, m.Liked
	if v.Public && v.Inbound && m.Author.Type == "contact" && !m.Deleted && m.PlatformMessageID != nil {
		v.CanHide = u.Can(account.ActionHide, c.PointOfContactID)
		v.CanDelete = u.Can(account.ActionDelete, c.PointOfContactID)
		v.CanLike = u.Can(account.ActionLike, c.PointOfContactID)
	}
	return v
}

func ftoa(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}
