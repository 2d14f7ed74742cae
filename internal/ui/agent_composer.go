package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/inbox"
)

// The composer's additions: files sent with a reply, approved templates
// with one field per parameter, and a live preview of what the customer
// will see. Every send goes through inbox.Reply, as POST
// /api/v1/cases/{id}/messages does (permission, case state, reply window,
// the channel's attachment policy, template validation).

const (
	// DefaultMaxAttachmentBytes is the per-file limit when
	// Deps.MaxAttachmentBytes is 0: the API's default (web.Options).
	DefaultMaxAttachmentBytes = 25 << 20
	// maxComposerFiles is the most files one reply carries (as the API).
	maxComposerFiles = 10
	// maxFieldBytes bounds one text field of the composer's form.
	maxFieldBytes = inbox.MaxTextLength + 1024
	// templateParamPrefix names a template parameter's field:
	// tparam:<name>|<language>:<index from 0>.
	templateParamPrefix = "tparam:"
)

// AttachmentStore checks an uploaded file (type, executable content) and
// writes it to the blob store; ingress.Service is one.
type AttachmentStore interface {
	StoreFile(ctx context.Context, field, name, declared string, data []byte, source string) (inbox.File, error)
}

type attachmentConfig struct {
	store    AttachmentStore
	maxBytes int64
}

// attachments is the composer's file upload set-up (Deps.Attachments), or
// nil: without a store the composer offers no file input.
func (h *Handler) attachments() *attachmentConfig {
	if h.d.Attachments == nil {
		return nil
	}
	limit := h.d.MaxAttachmentBytes
	if limit <= 0 {
		limit = DefaultMaxAttachmentBytes
	}
	return &attachmentConfig{store: h.d.Attachments, maxBytes: limit}
}

// fileTooLargeError refuses a file over the size limit.
type fileTooLargeError struct {
	Name  string
	Limit int64
}

func (e *fileTooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes", e.Name, e.Limit)
}

// errNoAttachments: files were posted but this server takes none from the UI.
var errNoAttachments = errors.New("ui: attachments are not available")

// composerInput is what the composer posted.
type composerInput struct {
	form   composerForm
	params map[string]string // template parameter fields, by field name
	files  []inbox.File
}

func (in *composerInput) set(v url.Values) {
	in.form = composerForm{Text: v.Get("text"), Template: v.Get("template"), Params: v.Get("params")}
	for i := 1; i <= maxQuickReplies; i++ {
		in.form.Options = append(in.form.Options, v.Get("option"+strconv.Itoa(i)))
	}
	in.params = map[string]string{}
	for k, vs := range v {
		if strings.HasPrefix(k, templateParamPrefix) && len(vs) > 0 {
			in.params[k] = vs[0]
		}
	}
}

func templateParamField(template string, i int) string {
	return templateParamPrefix + template + ":" + strconv.Itoa(i)
}

// templateParams are the selected template's parameter fields in order;
// nil when the form has none.
func (in *composerInput) templateParams() []string {
	var out []string
	for i := 0; ; i++ {
		v, ok := in.params[templateParamField(in.form.Template, i)]
		if !ok {
			return out
		}
		out = append(out, strings.TrimSpace(v))
	}
}

// message is the inbox message the composer asks for. Text or files beside
// a template are passed on for inbox.Reply to refuse, as the API does,
// rather than silently dropped.
func (in *composerInput) message() (inbox.NewMessage, error) {
	if in.form.Template != "" {
		params := in.templateParams()
		if params == nil && strings.TrimSpace(in.form.Params) != "" {
			return composeMessage(in.form) // the one-per-line field
		}
		if params == nil {
			params = []string{} // a template without parameters
		}
		name, lang, _ := strings.Cut(in.form.Template, "|")
		return inbox.NewMessage{Text: in.form.Text, Files: in.files, Template: &inbox.TemplateRequest{Name: name, Language: lang, Parameters: params}}, nil
	}
	msg, err := composeMessage(in.form)
	msg.Files = in.files
	return msg, err
}

// composerBodyLimit bounds a composer request: its text fields and, when
// files are taken, as many files as a reply carries.
func (h *Handler) composerBodyLimit() int64 {
	limit := int64(8 << 20)
	if att := h.attachments(); att != nil {
		limit += maxComposerFiles * att.maxBytes
	}
	return limit
}

// readComposer reads the composer's form: a multipart body is streamed,
// each file checked against the size limit as it arrives and stored (a
// refused request stores nothing more); a urlencoded body has no files.
func (h *Handler) readComposer(r *http.Request) (in composerInput, err error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		err = r.ParseForm()
		in.set(r.PostForm)
		return in, err
	}
	att := h.attachments()
	mr, err := r.MultipartReader()
	if err != nil {
		return in, err
	}
	values := url.Values{}
	defer func() { in.set(values) }() // the fields read, also when a file is refused
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return in, nil
		}
		if err != nil {
			return in, err
		}
		name := part.FormName()
		if name != "files" {
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return in, err
			}
			if len(b) > maxFieldBytes {
				return in, &inbox.ValidationError{Field: name, Reason: "too long"}
			}
			values.Add(name, string(b))
			continue
		}
		if part.FileName() == "" {
			continue // a file input with nothing chosen
		}
		if att == nil {
			return in, errNoAttachments
		}
		if len(in.files) == maxComposerFiles {
			return in, &inbox.ValidationError{Field: "attachments", Reason: fmt.Sprintf("at most %d files", maxComposerFiles)}
		}
		data, err := io.ReadAll(io.LimitReader(part, att.maxBytes+1))
		if err != nil {
			return in, err
		}
		if int64(len(data)) > att.maxBytes {
			return in, &fileTooLargeError{Name: part.FileName(), Limit: att.maxBytes}
		}
		f, err := att.store.StoreFile(r.Context(), fmt.Sprintf("attachments[%d]", len(in.files)), part.FileName(), part.Header.Get("Content-Type"), data, "")
		if err != nil {
			return in, err
		}
		in.files = append(in.files, f)
	}
}

// composerSend sends what the composer holds: text, quick replies, an
// approved template with its parameters, files. The case must be visible
// and the user allowed to reply there before any file is stored.
func (h *Handler) composerSend(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, h.composerBodyLimit())
	c, err := h.d.Inbox.GetCase(ctx, e.u, id)
	if err == nil && !e.u.Can(account.ActionReply, c.PointOfContactID) {
		err = inbox.ErrForbidden
	}
	if err != nil {
		drain(r)
		h.fail(w, r, e, err)
		return
	}
	in, err := h.readComposer(r)
	if err != nil {
		drain(r)
		h.refuseUpload(w, r, e, in.form, err)
		return
	}
	msg, err := in.message()
	if err == nil {
		_, err = h.d.Inbox.Reply(ctx, e.u, id, msg)
	}
	if err != nil {
		h.refuse(w, r, e, in.form, err)
		return
	}
	if h.d.Router != nil {
		h.d.Router.Kick(e.u.WorkspaceID)
	}
	h.back(w, r, "cases", id)
}

// drain reads what is left of a refused upload (within the request's
// bound) so the browser, still sending, reads the answer instead of a
// reset.
func drain(r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
}

// refuseUpload shows the case again with why the files were refused.
func (h *Handler) refuseUpload(w http.ResponseWriter, r *http.Request, e *env, form composerForm, err error) {
	var big *fileTooLargeError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &big):
		h.showCase(w, r, e, http.StatusRequestEntityTooLarge, form, "agent.files.too_large", e.t("agent.files.too_large_detail", big.Name, sizeLabel(e, big.Limit)))
	case errors.As(err, &mbe):
		h.showCase(w, r, e, http.StatusRequestEntityTooLarge, form, "agent.files.too_large", "")
	case errors.Is(err, errNoAttachments):
		h.showCase(w, r, e, http.StatusUnprocessableEntity, form, "agent.files.unavailable", "")
	default:
		h.refuse(w, r, e, form, err)
	}
}

// sizeLabel writes a byte count as the attachment limit is shown.
func sizeLabel(e *env, b int64) string {
	if b >= 1<<20 {
		return e.t("agent.unit.mb", b>>20)
	}
	return e.t("agent.unit.kb", max(1, b>>10))
}

// attachmentsData is the composer's file input.
type attachmentsData struct {
	Enabled  bool
	Refused  bool // the channel takes no files from a business
	Max      int  // files per message
	MaxBytes int64
	Limit    string
}

// attachmentsFragment is the composer's file input, as the case's channel
// allows: none where the channel takes no files from a business (LINE),
// one where it takes one per message.
func (h *Handler) attachmentsFragment(w http.ResponseWriter, r *http.Request, e *env) {
	c, err := h.d.Inbox.GetCase(r.Context(), e.u, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	d := &attachmentsData{}
	att := h.attachments()
	if att != nil && e.u.Can(account.ActionReply, c.PointOfContactID) {
		d.Enabled, d.Max, d.MaxBytes, d.Limit = true, maxComposerFiles, att.maxBytes, sizeLabel(e, att.maxBytes)
		if h.d.Registry != nil {
			if n, limited := h.d.Registry.MaxAttachments(c.ChannelType); limited {
				d.Max = min(n, maxComposerFiles)
			}
		}
		if d.Max == 0 {
			d.Enabled, d.Refused = false, true
		}
	}
	h.fragment(w, r, e, "case", "agentfiles", d)
}

// previewData is what the customer will see, before sending.
type previewData struct {
	CaseID     string
	Empty      bool
	Template   string // "name (language)" when a template is previewed
	Text       string
	Options    []string
	Characters int
	Segments   int    // SMS: billed segments
	Encoding   string // SMS: GSM-7 or UCS-2
	Problem    string // why the send would be refused
}

// composerPreview renders the composer's content as the customer will see
// it (as POST /api/v1/cases/{id}/preview reports it: characters, SMS
// segments), a template filled with its parameters, and what the reply
// window or the template's validation would refuse.
func (h *Handler) composerPreview(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	c, err := h.d.Inbox.GetCase(ctx, e.u, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	var in composerInput
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	in.set(r.PostForm)
	d := &previewData{CaseID: c.ID}
	if in.form.Template != "" {
		h.previewTemplate(ctx, e, c, &in, d)
	} else {
		d.Text = in.form.Text
		for _, o := range in.form.Options {
			if o = strings.TrimSpace(o); o != "" {
				d.Options = append(d.Options, o)
			}
		}
		d.Empty = strings.TrimSpace(d.Text) == "" && len(d.Options) == 0
		if win := c.ReplyWindow; win != nil && (win.State == "templates_only" || win.State == "closed") {
			d.Problem = e.t("agent.preview.window_" + win.State)
		}
	}
	d.Characters = utf8.RuneCountInString(d.Text)
	if h.d.Registry != nil && d.Text != "" {
		if a, ok := h.d.Registry.Get(c.ChannelType); ok {
			if sc, ok := a.(channel.SegmentCounter); ok {
				d.Segments, d.Encoding = sc.Segments(d.Text)
			}
		}
	}
	h.fragment(w, r, e, "case", "agentpreview", d)
}

// previewTemplate fills the selected template's body with the parameters
// typed so far ({{n}} stays where one is missing) and tells what its
// validation would refuse.
func (h *Handler) previewTemplate(ctx context.Context, e *env, c *inbox.Case, in *composerInput, d *previewData) {
	name, lang, _ := strings.Cut(in.form.Template, "|")
	d.Template = name + " (" + lang + ")"
	if h.d.Templates == nil {
		d.Problem = e.t("agent.preview.no_template")
		return
	}
	ts, err := h.d.Templates.List(ctx, e.u.WorkspaceID, c.PointOfContactID)
	if err != nil {
		d.Problem = e.t("error.internal")
		return
	}
	for _, t := range ts {
		if t.Name != name || t.Language != lang {
			continue
		}
		params := in.templateParams()
		d.Text = t.FilledBody(params)
		if _, err := t.Validate(params); err != nil {
			d.Problem = err.Error()
		}
		return
	}
	d.Problem = e.t("agent.preview.no_template")
}
