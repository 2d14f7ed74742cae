package content

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// resolveForm handles a reply to a form prompt: a whole submitted form
// (native or web), or, in sequential mode, the answer to the current field.
func resolveForm(p *Prompt, in Reply) Outcome {
	if p.Form == nil || len(p.Fields) == 0 {
		return Outcome{PromptClosed: true}
	}
	if len(in.FormValues) > 0 {
		return submitForm(p, in)
	}
	text := strings.TrimSpace(in.Text)
	if isCancel(text) {
		return Outcome{PromptClosed: true, Cancelled: true, AskAgain: &Content{Type: TypeText, Text: "OK, cancelled."}}
	}
	if p.Form.Mode != FormSequential || text == "" {
		// A native or web form is answered by submitting it; text meanwhile
		// is free text.
		return Outcome{UpdatedPrompt: p.clone()}
	}
	step := p.Form.Step
	if step < 0 || step >= len(p.Fields) {
		return Outcome{PromptClosed: true}
	}
	f := p.Fields[step]
	next := p.clone()
	value, reason := answerField(f, text)
	if reason != "" {
		return Outcome{UpdatedPrompt: next, AskAgain: textContent(reason + "\n" + fieldQuestion(f, false))}
	}
	if value != "" {
		next.Form.Values[f.Name] = value
	}
	next.Form.Step++
	if next.Form.Step < len(p.Fields) {
		return Outcome{UpdatedPrompt: next, AskAgain: textContent(fieldQuestion(p.Fields[next.Form.Step], false))}
	}
	return Outcome{PromptClosed: true, Choice: &Choice{
		InReplyTo: p.ID, Kind: KindForm, Fields: next.Form.Values, Source: SourceSequential, RawText: in.Text,
	}}
}

// submitForm validates every field of a submitted form. Invalid forms stay
// open and the reasons are sent back.
func submitForm(p *Prompt, in Reply) Outcome {
	values := map[string]string{}
	var problems []string
	for _, f := range p.Fields {
		raw := strings.TrimSpace(in.FormValues[f.Name])
		if raw == "" {
			if f.Required {
				problems = append(problems, f.Label+": required.")
			}
			continue
		}
		v, reason := validateField(f, raw)
		if reason != "" {
			problems = append(problems, f.Label+": "+reason)
			continue
		}
		values[f.Name] = v
	}
	if len(problems) > 0 {
		return Outcome{UpdatedPrompt: p.clone(), AskAgain: textContent(strings.Join(problems, "\n"))}
	}
	src := SourceNative
	if p.Form.Mode == FormWeb {
		src = SourceWebForm
	}
	return Outcome{PromptClosed: true, Choice: &Choice{InReplyTo: p.ID, Kind: KindForm, Fields: values, Source: src, RawText: in.Text}}
}

func isCancel(text string) bool {
	switch fold(text) {
	case "cancel", "annuler", "annule", "stop", "quit", "abandon", "abandonner":
		return true
	}
	return false
}

// answerField reads one typed answer: "skip" leaves an optional field
// empty; select fields are answered like an option prompt (number, label,
// ordinal); others are validated as typed. It returns the value or a reason.
func answerField(f Field, text string) (string, string) {
	if s := fold(text); s == "skip" || s == "passer" || s == "-" || text == "-" {
		if f.Required {
			return "", "This one is required."
		}
		return "", ""
	}
	if f.Type == FieldSelect {
		opts := make([]PromptOption, len(f.Options))
		for i, o := range f.Options {
			opts[i] = PromptOption{Number: i + 1, ID: o.ID, Label: o.Label}
		}
		picked, _, _ := matchOptions(opts, f.MultiSelect, text)
		if len(picked) == 0 {
			return "", "Please reply with one of the numbers."
		}
		ids := make([]string, len(picked))
		for i, o := range picked {
			ids[i] = o.ID
		}
		return strings.Join(ids, ","), ""
	}
	return validateField(f, text)
}

// validateField checks and normalises one value against its field's rules.
func validateField(f Field, raw string) (string, string) {
	v := strings.TrimSpace(raw)
	if !utf8.ValidString(v) {
		return "", "That is not readable text."
	}
	switch f.Type {
	case FieldEmail:
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v || !strings.Contains(v[strings.LastIndexByte(v, '@')+1:], ".") {
			return "", "That doesn't look like an email address."
		}
	case FieldPhone:
		p, ok := normalizePhone(v)
		if !ok {
			return "", "That doesn't look like a phone number."
		}
		v = p
	case FieldNumber:
		n, err := strconv.ParseFloat(strings.Replace(strings.ReplaceAll(v, " ", ""), ",", ".", 1), 64)
		if err != nil || n != n {
			return "", "Please reply with a number."
		}
		v = strconv.FormatFloat(n, 'f', -1, 64)
	case FieldDate:
		d, ok := parseDate(v)
		if !ok {
			return "", "Please reply with a date like 2025-11-24."
		}
		v = d
	case FieldSelect:
		var ids []string
		for _, id := range splitAny(v, ",") {
			found := false
			for _, o := range f.Options {
				if o.ID == strings.TrimSpace(id) {
					found = true
					ids = append(ids, o.ID)
				}
			}
			if !found {
				return "", "That is not one of the choices."
			}
		}
		if len(ids) == 0 || (!f.MultiSelect && len(ids) > 1) {
			return "", "Please choose one of the choices."
		}
		v = strings.Join(ids, ",")
	}
	n := utf8.RuneCountInString(v)
	if n > f.maxLen() {
		return "", "That is too long (at most " + itoa(f.maxLen()) + " characters)."
	}
	if n < f.MinLen {
		return "", "That is too short (at least " + itoa(f.MinLen) + " characters)."
	}
	if f.Pattern != "" {
		re, err := regexp.Compile(`^(?:` + f.Pattern + `)$`)
		if err != nil || !re.MatchString(v) {
			return "", "That is not in the expected format."
		}
	}
	return v, ""
}

// normalizePhone accepts "+33 6 12 34 56 78", "(555) 123-4567", "06.12.34.56.78"
// and returns "+33612345678" or the digits: 6–15 digits (E.164's maximum).
func normalizePhone(s string) (string, bool) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := strings.TrimPrefix(b.String(), "+")
	if len(d) < 6 || len(d) > 15 {
		return "", false
	}
	return b.String(), true
}

// parseDate accepts ISO dates and the day-first forms Parley's customers
// write (24/11/2025, 24.11.2025, 24 Nov 2025, 24 November 2025, Nov 24 2025)
// and returns YYYY-MM-DD. Month-first numeric dates are not accepted: they
// are ambiguous.
func parseDate(s string) (string, bool) {
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, ",", " ")), " ")
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006", "02.01.2006", "2.1.2006",
		"2 Jan 2006", "2 January 2006", "Jan 2 2006", "January 2 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}

// textContent is a text message that always validates (a question about a
// select field with 100 long options can exceed the text limit).
func textContent(s string) *Content {
	return &Content{Type: TypeText, Text: truncate(s, MaxTextLen)}
}
