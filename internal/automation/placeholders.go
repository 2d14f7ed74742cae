package automation

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Placeholders are written {{case.id}}, {{case.custom_fields.plan}},
// {{message.text}}, {{rule.name}}: the condition fields plus case.id,
// event.type, rule.id and rule.name. Unknown names are refused when the
// rule is saved, so a typo does not reach a customer as "{{case.sbject}}".

// placeholderSpans finds the {{…}} placeholders of s, with their names.
func placeholderSpans(s string) (spans [][2]int, names []string) {
	for i := 0; ; {
		start := strings.Index(s[i:], "{{")
		if start < 0 {
			return spans, names
		}
		start += i
		end := strings.Index(s[start+2:], "}}")
		if end < 0 {
			return spans, names
		}
		end += start + 2
		spans = append(spans, [2]int{start, end + 2})
		names = append(names, strings.TrimSpace(s[start+2:end]))
		i = end + 2
	}
}

func checkPlaceholders(field, s, trigger string) error {
	_, names := placeholderSpans(s)
	for _, name := range names {
		switch name {
		case "case.id", "event.type", "rule.id", "rule.name":
			continue
		}
		spec, ok := lookupField(name)
		if !ok {
			return invalid(field, "unknown placeholder {{%s}} (known: case.id, event.type, rule.id, rule.name, %s)", name, strings.Join(FieldNames(), ", "))
		}
		if spec.triggers != nil && !slices.Contains(spec.triggers, trigger) {
			return invalid(field, "placeholder {{%s}} exists only for %s rules", name, strings.Join(spec.triggers, " and "))
		}
	}
	return nil
}

// render replaces s's placeholders with their values. oneLine drops line
// breaks from values (an email subject must stay one header line).
func render(s string, f *facts, r *compiledRule, oneLine bool) string {
	spans, names := placeholderSpans(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	last := 0
	for i, sp := range spans {
		b.WriteString(s[last:sp[0]])
		v := placeholderValue(names[i], f, r)
		if oneLine {
			v = strings.Join(strings.Fields(strings.NewReplacer("\r", " ", "\n", " ").Replace(v)), " ")
		}
		b.WriteString(v)
		last = sp[1]
	}
	b.WriteString(s[last:])
	return b.String()
}

func placeholderValue(name string, f *facts, r *compiledRule) string {
	switch name {
	case "rule.id":
		return r.ID
	case "rule.name":
		return r.Name
	}
	spec, ok := lookupField(name)
	if !ok && name != "case.id" && name != "event.type" {
		return ""
	}
	v := f.lookup(name)
	switch {
	case !ok: // case.id, event.type
		return v.str
	case spec.kind == kindNumber:
		return strconv.FormatFloat(v.num, 'f', -1, 64)
	case spec.kind == kindBool:
		return strconv.FormatBool(v.boolean)
	case spec.kind == kindTags:
		return strings.Join(v.tags, ", ")
	case spec.kind == kindAny:
		if s, ok := textOf(v.raw); ok {
			return s
		}
		if v.raw == nil {
			return ""
		}
		b, _ := json.Marshal(v.raw)
		return string(b)
	}
	return v.str
}
