package content

import (
	"strconv"
	"strings"
	"time"
)

// maxReplyText bounds the work Resolve does on one inbound text: answers
// to a prompt are short, and a long message is free text anyway.
const maxReplyText = 2000

// Resolve maps an inbound reply onto the thread's pending prompt, in the
// order of RICH_CONTENT.md, stopping at the first that answers:
//
//  1. a native structured event (Reply.NativeID, Reply.FormValues);
//  2. a number, or numbers on a multi-select ("1, 3"), in range;
//  3. an exact label, ignoring case and accents;
//  4. a single unambiguous fuzzy or ordinal match ("the second one",
//     "2nd", "le deuxième"); when several options tie, it asks again with
//     only the tied options.
//
// Otherwise the reply is free text and the prompt stays open. A form asked
// in text takes one field per reply, validates it, re-asks when invalid and
// understands "cancel" ("annuler"). An expired prompt is closed and the
// reply is free text. Resolve never modifies p.
func Resolve(p *Prompt, in Reply, now time.Time) Outcome {
	if p == nil {
		return Outcome{}
	}
	if !p.ExpiresAt.IsZero() && !now.IsZero() && now.After(p.ExpiresAt) {
		return Outcome{PromptClosed: true}
	}
	if len(in.Text) > maxReplyText {
		in.Text = in.Text[:maxReplyText]
	}
	if p.Kind == KindForm {
		return resolveForm(p, in)
	}
	if len(p.Options) == 0 {
		return Outcome{UpdatedPrompt: p.clone()}
	}
	// 1. native id(s)
	if in.NativeID != "" {
		if picked, ok := p.byIDs(splitAny(in.NativeID, ",")); ok {
			return p.chosen(picked, SourceNative, in.Text)
		}
	}
	if len(in.FormValues) > 0 && len(p.Options) > 0 {
		// An Adaptive Card or widget form answering an option prompt carries
		// the option id in "choice".
		if v, ok := in.FormValues["choice"]; ok {
			if picked, ok := p.byIDs(splitAny(v, ",")); ok {
				return p.chosen(picked, SourceNative, in.Text)
			}
		}
	}
	text := strings.TrimSpace(in.Text)
	if text == "" {
		return Outcome{UpdatedPrompt: p.clone()}
	}
	picked, src, tied := matchOptions(p.Options, p.MultiSelect, text)
	if len(picked) > 0 {
		return p.chosen(picked, src, in.Text)
	}
	if len(tied) > 1 {
		return Outcome{AskAgain: p.askAgain(tied), UpdatedPrompt: p.clone()}
	}
	return Outcome{UpdatedPrompt: p.clone()}
}

// matchOptions runs steps 2–4 over a list of options. It returns the picked
// options and how they were recognised, or the tied options of an
// ambiguous answer.
func matchOptions(opts []PromptOption, multi bool, text string) (picked []PromptOption, src Source, tied []PromptOption) {
	// 2. numbers
	if nums, ok := parseNumbers(text); ok && (multi || len(nums) == 1) {
		var out []PromptOption
		for _, n := range nums {
			if n < 1 || n > len(opts) {
				out = nil
				break
			}
			out = append(out, opts[n-1])
		}
		if len(out) > 0 {
			return out, SourceNumber, nil
		}
	}
	// 3. exact label (and, on a multi-select, a list of exact labels)
	ft := fold(text)
	if ex := exactLabel(opts, ft); len(ex) == 1 {
		return ex, SourceLabel, nil
	} else if len(ex) > 1 {
		return nil, "", ex
	}
	if multi {
		parts := splitList(text)
		if len(parts) > 1 {
			var out []PromptOption
			for _, part := range parts {
				ex := exactLabel(opts, fold(part))
				if len(ex) != 1 {
					out = nil
					break
				}
				out = append(out, ex[0])
			}
			if len(out) > 0 {
				return dedupe(out), SourceLabel, nil
			}
		}
	}
	// 4. ordinal, then fuzzy
	if n, ok := ordinal(ft, len(opts)); ok {
		return []PromptOption{opts[n-1]}, SourceFuzzy, nil
	}
	m := fuzzy(opts, ft)
	if len(m) == 1 {
		return m, SourceFuzzy, nil
	}
	return nil, "", m
}

func exactLabel(opts []PromptOption, folded string) []PromptOption {
	if folded == "" {
		return nil
	}
	var out []PromptOption
	for _, o := range opts {
		if fold(o.Label) == folded {
			out = append(out, o)
		}
	}
	return out
}

func dedupe(opts []PromptOption) []PromptOption {
	seen := map[string]bool{}
	out := opts[:0:0]
	for _, o := range opts {
		if !seen[o.ID] {
			seen[o.ID] = true
			out = append(out, o)
		}
	}
	return out
}

// byIDs finds every id among the prompt's options; all must exist, and a
// single-select prompt takes exactly one.
func (p *Prompt) byIDs(ids []string) ([]PromptOption, bool) {
	if len(ids) == 0 || (!p.MultiSelect && len(ids) != 1) {
		return nil, false
	}
	var out []PromptOption
	for _, id := range ids {
		o, ok := p.optionByID(strings.TrimSpace(id))
		if !ok {
			return nil, false
		}
		out = append(out, o)
	}
	return dedupe(out), true
}

func (p *Prompt) chosen(picked []PromptOption, src Source, raw string) Outcome {
	ch := &Choice{InReplyTo: p.ID, Kind: p.Kind, Source: src, RawText: raw}
	for _, o := range picked {
		ch.OptionIDs = append(ch.OptionIDs, o.ID)
		ch.Postbacks = append(ch.Postbacks, o.Postback)
	}
	if p.Kind == KindSlot && len(picked) > 0 {
		ch.Slot = p.slotByID(picked[0].ID)
		ch.Postbacks = nil
	}
	out := Outcome{Choice: ch}
	if p.Persistent {
		out.UpdatedPrompt = p.clone()
	} else {
		out.PromptClosed = true
	}
	return out
}

// askAgain is the content that asks again with only the tied options, in
// their original order. It is a quick reply (or a time picker for slots)
// so the channel shows it as richly as it can.
func (p *Prompt) askAgain(tied []PromptOption) *Content {
	if p.Kind == KindSlot {
		c := &Content{Type: TypeTimePicker, Text: "Which one do you mean?", Timezone: p.Timezone}
		for _, o := range tied {
			if s := p.slotByID(o.ID); s != nil {
				c.Slots = append(c.Slots, *s)
			}
		}
		if _, err := loadZone(c.Timezone); err != nil {
			c.Timezone = ""
		}
		return c
	}
	t := TypeQuickReplies
	if len(tied) > MaxQuickReplies {
		t = TypeListPicker
	}
	c := &Content{Type: t, Text: "Which one do you mean?"}
	for _, o := range tied {
		c.Options = append(c.Options, Option{ID: o.ID, Label: o.Label, Postback: o.Postback})
	}
	return c
}

// parseNumbers reads "2", "2.", "2)", "#2", "n°2", "1, 3", "1 et 3",
// "1 and 3", "1;3".
func parseNumbers(text string) ([]int, bool) {
	s := strings.ToLower(strings.TrimSpace(text))
	s = strings.NewReplacer("n°", " ", "no.", " ", "#", " ", " and ", ",", " et ", ",", "&", ",", ";", ",").Replace(s)
	var nums []int
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		part = strings.TrimRight(part, ".)")
		if part == "" {
			continue
		}
		if len(part) > 4 {
			return nil, false
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, false
		}
		nums = append(nums, n)
	}
	if len(nums) == 0 {
		return nil, false
	}
	seen := map[int]bool{}
	out := nums[:0]
	for _, n := range nums {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, true
}

// splitList splits "red, blue and green" into its parts.
func splitList(text string) []string {
	s := strings.NewReplacer(" and ", ",", " et ", ",", ";", ",", "&", ",").Replace(strings.ToLower(text))
	var out []string
	for _, p := range strings.Split(s, ",") {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// fillerWords are words around an answer that say nothing about which
// option ("the second one please", "je prends le deuxième"). Yes/no are not
// fillers: they are often labels.
const fillerWords = " the a an one option choice number nr please pls i id would like want take pick choose" +
	" it is its s ll let me go for with that this ok okay thanks thank you my answer" +
	" le la les l un une je j prends prendre veux voudrais choisis choix numero svp stp plait il vous te" +
	" merci c est celui celle ci ce pour moi "

func isFiller(w string) bool { return w != "" && strings.Contains(fillerWords, " "+w+" ") }

// ordinalWord reads English and French ordinal words (folded).
func ordinalWord(w string) int {
	switch w {
	case "first", "premier", "premiere":
		return 1
	case "second", "deuxieme", "seconde":
		return 2
	case "third", "troisieme":
		return 3
	case "fourth", "quatrieme":
		return 4
	case "fifth", "cinquieme":
		return 5
	case "sixth", "sixieme":
		return 6
	case "seventh", "septieme":
		return 7
	case "eighth", "huitieme":
		return 8
	case "ninth", "neuvieme":
		return 9
	case "tenth", "dixieme":
		return 10
	}
	return 0
}

// ordinal finds "the second one", "2nd", "le 2e", "last", "dernier".
// Exactly one ordinal word and otherwise only filler words.
func ordinal(folded string, count int) (int, bool) {
	ws := strings.Fields(folded)
	if len(ws) == 0 || len(ws) > 8 {
		return 0, false
	}
	found := 0
	for _, w := range ws {
		n := 0
		switch {
		case w == "last" || w == "dernier" || w == "derniere":
			n = count
		case ordinalWord(w) > 0:
			n = ordinalWord(w)
		default:
			n = numericOrdinal(w)
		}
		if n > 0 {
			if found != 0 {
				return 0, false
			}
			found = n
			continue
		}
		if !isFiller(w) {
			return 0, false
		}
	}
	if found < 1 || found > count {
		return 0, false
	}
	return found, true
}

// numericOrdinal reads "2nd", "3rd", "4th", "1st", "2e", "2eme", "2ème"
// (already folded to "2eme"), and a bare number among filler words
// ("option 2").
func numericOrdinal(w string) int {
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	if i == 0 || i > 3 {
		return 0
	}
	n, _ := strconv.Atoi(w[:i])
	switch w[i:] {
	case "", "st", "nd", "rd", "th", "e", "eme", "er", "ere", "re":
		return n
	}
	return 0
}

// fuzzy matches an answer that is part of a label ("tuesday" for "Tuesday
// 25 Nov, 09:00–09:30") or contains a label ("the large one please" for
// "Large"), tolerating one typo in words of five letters or more. It
// returns every option that matches; the caller decides on ambiguity.
func fuzzy(opts []PromptOption, folded string) []PromptOption {
	var content []string
	for _, w := range strings.Fields(folded) {
		if !isFiller(w) {
			content = append(content, w)
		}
	}
	if len(content) == 0 || len(content) > 12 {
		return nil
	}
	var out []PromptOption
	for _, o := range opts {
		lw := strings.Fields(fold(o.Label))
		if len(lw) == 0 {
			continue
		}
		// the answer's words are all in the label
		if allIn(content, lw) {
			out = append(out, o)
			continue
		}
		// the label's words are all in a short answer
		if len(content) <= len(lw)+3 && allIn(lw, content) {
			out = append(out, o)
		}
	}
	return out
}

func allIn(needles, hay []string) bool {
	for _, n := range needles {
		found := false
		for _, h := range hay {
			if n == h || (len(n) >= 5 && len(h) >= 5 && levenshtein(n, h) <= 1) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
