package fake

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// CheckBlocks validates a message's blocks against Block Kit's rules and
// limits as Slack enforces them, and returns Slack's error messages
// ("[ERROR] … [json-pointer:/blocks/1/elements/0/text/text]"); none when
// the blocks are valid. It covers the blocks and elements messages use:
// section, actions, divider, image, context, header; button, static and
// multi-static select, overflow, datepicker, timepicker, checkboxes,
// radio buttons, image.
func CheckBlocks(raw json.RawMessage) []string {
	var blocks []any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{"[ERROR] must be an array [json-pointer:/blocks]"}
	}
	v := &validator{}
	if len(blocks) == 0 {
		v.errorf("/blocks", "must provide at least 1 item")
	}
	if len(blocks) > MaxBlocks {
		v.errorf("/blocks", "no more than %d items allowed", MaxBlocks)
	}
	ids := map[string]bool{}
	for i, b := range blocks {
		p := fmt.Sprintf("/blocks/%d", i)
		m, ok := b.(map[string]any)
		if !ok {
			v.errorf(p, "must be an object")
			continue
		}
		if id, ok := m["block_id"].(string); ok {
			if ids[id] {
				v.errorf(p+"/block_id", "duplicate block_id")
			}
			ids[id] = true
			v.maxLen(p+"/block_id", id, 255)
		}
		v.block(p, m)
	}
	return v.msgs
}

type validator struct{ msgs []string }

func (v *validator) errorf(pointer, format string, args ...any) {
	v.msgs = append(v.msgs, "[ERROR] "+fmt.Sprintf(format, args...)+" [json-pointer:"+pointer+"]")
}

func (v *validator) maxLen(p, s string, n int) {
	if utf8.RuneCountInString(s) > n {
		v.errorf(p, "must be less than %d characters", n+1)
	}
}

// text checks a text object: its type (plain_text only, or either) and
// length.
func (v *validator) text(p string, x any, plainOnly bool, max int) {
	m, ok := x.(map[string]any)
	if !ok {
		v.errorf(p, "must be a text object")
		return
	}
	typ, _ := m["type"].(string)
	switch {
	case typ == "plain_text":
	case typ == "mrkdwn" && !plainOnly:
	default:
		if plainOnly {
			v.errorf(p+"/type", "must be plain_text")
		} else {
			v.errorf(p+"/type", "must be one of plain_text, mrkdwn")
		}
	}
	s, ok := m["text"].(string)
	if !ok || s == "" {
		v.errorf(p+"/text", "must be more than 0 characters")
		return
	}
	v.maxLen(p+"/text", s, max)
}

func (v *validator) url(p string, m map[string]any, key string, required bool) {
	s, ok := m[key].(string)
	if !ok || s == "" {
		if required {
			v.errorf(p+"/"+key, "must provide a string")
		}
		return
	}
	v.maxLen(p+"/"+key, s, 3000)
}

func (v *validator) block(p string, m map[string]any) {
	typ, _ := m["type"].(string)
	switch typ {
	case "section":
		_, hasText := m["text"]
		fields, hasFields := m["fields"].([]any)
		if !hasText && !hasFields {
			v.errorf(p, "must provide text or fields")
		}
		if hasText {
			v.text(p+"/text", m["text"], false, MaxSectionText)
		}
		if len(fields) > 10 {
			v.errorf(p+"/fields", "no more than 10 items allowed")
		}
		for i, f := range fields {
			v.text(fmt.Sprintf("%s/fields/%d", p, i), f, false, 2000)
		}
		if acc, ok := m["accessory"]; ok {
			v.element(p+"/accessory", acc, map[string]bool{})
		}
	case "actions":
		els, _ := m["elements"].([]any)
		if len(els) == 0 {
			v.errorf(p+"/elements", "must provide at least 1 item")
		}
		if len(els) > MaxActionsLength {
			v.errorf(p+"/elements", "no more than %d items allowed", MaxActionsLength)
		}
		seen := map[string]bool{}
		for i, e := range els {
			v.element(fmt.Sprintf("%s/elements/%d", p, i), e, seen)
		}
	case "divider":
	case "image":
		v.url(p, m, "image_url", true)
		alt, _ := m["alt_text"].(string)
		if alt == "" {
			v.errorf(p+"/alt_text", "must provide a string")
		}
		v.maxLen(p+"/alt_text", alt, 2000)
		if t, ok := m["title"]; ok {
			v.text(p+"/title", t, true, 2000)
		}
	case "context":
		els, _ := m["elements"].([]any)
		if len(els) == 0 || len(els) > 10 {
			v.errorf(p+"/elements", "must provide between 1 and 10 items")
		}
	case "header":
		v.text(p+"/text", m["text"], true, 150)
	case "rich_text", "markdown", "file", "video", "input":
		// accepted as they are: Parley does not send them.
	default:
		v.errorf(p+"/type", "invalid block type %q", typ)
	}
}

func (v *validator) actionID(p string, m map[string]any, seen map[string]bool) {
	id, ok := m["action_id"].(string)
	if !ok {
		return // Slack generates one
	}
	v.maxLen(p+"/action_id", id, MaxActionID)
	if seen[id] {
		v.errorf(p+"/action_id", "duplicate action_id %q", id)
	}
	seen[id] = true
}

func (v *validator) element(p string, x any, seen map[string]bool) {
	m, ok := x.(map[string]any)
	if !ok {
		v.errorf(p, "must be an object")
		return
	}
	typ, _ := m["type"].(string)
	switch typ {
	case "button":
		v.actionID(p, m, seen)
		v.text(p+"/text", m["text"], true, MaxPlainText)
		if val, ok := m["value"].(string); ok {
			v.maxLen(p+"/value", val, MaxButtonValue)
		}
		v.url(p, m, "url", false)
		if st, ok := m["style"].(string); ok && st != "primary" && st != "danger" {
			v.errorf(p+"/style", "must be one of primary, danger")
		}
	case "static_select", "multi_static_select":
		v.actionID(p, m, seen)
		if ph, ok := m["placeholder"]; ok {
			v.text(p+"/placeholder", ph, true, 150)
		}
		opts, hasOpts := m["options"].([]any)
		groups, hasGroups := m["option_groups"].([]any)
		switch {
		case hasOpts == hasGroups:
			v.errorf(p, "must provide exactly one of options, option_groups")
		case hasOpts:
			v.options(p+"/options", opts)
		default:
			if len(groups) == 0 || len(groups) > MaxSelectOptions {
				v.errorf(p+"/option_groups", "must provide between 1 and %d items", MaxSelectOptions)
			}
			for i, g := range groups {
				gp := fmt.Sprintf("%s/option_groups/%d", p, i)
				gm, _ := g.(map[string]any)
				v.text(gp+"/label", gm["label"], true, MaxPlainText)
				gopts, _ := gm["options"].([]any)
				v.options(gp+"/options", gopts)
			}
		}
	case "overflow", "checkboxes", "radio_buttons":
		v.actionID(p, m, seen)
		opts, _ := m["options"].([]any)
		v.options(p+"/options", opts)
	case "datepicker", "timepicker", "datetimepicker", "users_select", "conversations_select", "channels_select", "external_select", "multi_users_select":
		v.actionID(p, m, seen)
	case "image":
		v.url(p, m, "image_url", true)
		if alt, _ := m["alt_text"].(string); alt == "" {
			v.errorf(p+"/alt_text", "must provide a string")
		}
	default:
		v.errorf(p+"/type", "invalid element type %q", typ)
	}
}

func (v *validator) options(p string, opts []any) {
	if len(opts) == 0 || len(opts) > MaxSelectOptions {
		v.errorf(p, "must provide between 1 and %d items", MaxSelectOptions)
	}
	for i, o := range opts {
		op := fmt.Sprintf("%s/%d", p, i)
		om, ok := o.(map[string]any)
		if !ok {
			v.errorf(op, "must be an object")
			continue
		}
		v.text(op+"/text", om["text"], false, MaxPlainText)
		val, _ := om["value"].(string)
		if val == "" {
			v.errorf(op+"/value", "must provide a string")
		}
		v.maxLen(op+"/value", val, MaxOptionValue)
		if d, ok := om["description"]; ok {
			v.text(op+"/description", d, true, MaxPlainText)
		}
	}
}
