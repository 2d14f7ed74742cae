package fake

import (
	"encoding/json"
	"fmt"
	"net/url"
	"unicode/utf8"
)

// The message-object rules the fake enforces, from the Messaging API
// reference and line/line-openapi (messaging-api.yml). Violations answer
// 400 with LINE's "The request body has N error(s)" and one detail each.

type jsonObj = map[string]json.RawMessage

func lengthDetail(prop string, min, max int) Detail {
	return Detail{Message: fmt.Sprintf("Length must be between %d and %d", min, max), Property: prop}
}

func checkLen(prop string, o jsonObj, key string, min, max int, required bool) []Detail {
	raw, ok := o[key]
	if !ok {
		if required {
			return []Detail{{Message: "must be specified", Property: prop + "." + key}}
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return []Detail{{Message: "must be a string", Property: prop + "." + key}}
	}
	if n := utf8.RuneCountInString(s); n < min || n > max {
		return []Detail{lengthDetail(prop+"."+key, min, max)}
	}
	return nil
}

func str(o jsonObj, key string) string {
	var s string
	_ = json.Unmarshal(o[key], &s)
	return s
}

func has(o jsonObj, key string) bool {
	_, ok := o[key]
	return ok
}

func checkURL(prop string, o jsonObj, key string, max int, schemes []string, required bool) []Detail {
	if !has(o, key) {
		if required {
			return []Detail{{Message: "must be specified", Property: prop + "." + key}}
		}
		return nil
	}
	s := str(o, key)
	u, err := url.Parse(s)
	ok := err == nil && len(s) <= max
	if ok {
		ok = false
		for _, sc := range schemes {
			if u.Scheme == sc {
				ok = true
			}
		}
	}
	if !ok {
		return []Detail{{Message: "invalid uri", Property: prop + "." + key}}
	}
	return nil
}

var (
	httpsOnly  = []string{"https"}
	uriSchemes = []string{"http", "https", "line", "tel"}
)

func validateMessage(prop string, raw json.RawMessage) []Detail {
	var o jsonObj
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return []Detail{{Message: "must be an object", Property: prop}}
	}
	var d []Detail
	switch t := str(o, "type"); t {
	case "text":
		d = append(d, checkLen(prop, o, "text", 1, 5000, true)...)
	case "template":
		d = append(d, checkLen(prop, o, "altText", 1, 400, true)...)
		d = append(d, validateTemplate(prop+".template", o["template"])...)
	case "location":
		d = append(d, checkLen(prop, o, "title", 1, 100, true)...)
		d = append(d, checkLen(prop, o, "address", 1, 100, true)...)
		for _, k := range []string{"latitude", "longitude"} {
			var f float64
			if err := json.Unmarshal(o[k], &f); err != nil {
				d = append(d, Detail{Message: "must be a number", Property: prop + "." + k})
			}
		}
	case "image", "video":
		d = append(d, checkURL(prop, o, "originalContentUrl", 2000, httpsOnly, true)...)
		d = append(d, checkURL(prop, o, "previewImageUrl", 2000, httpsOnly, true)...)
	case "audio":
		d = append(d, checkURL(prop, o, "originalContentUrl", 2000, httpsOnly, true)...)
	case "sticker":
		d = append(d, checkLen(prop, o, "packageId", 1, 100, true)...)
		d = append(d, checkLen(prop, o, "stickerId", 1, 100, true)...)
	case "flex":
		d = append(d, checkLen(prop, o, "altText", 1, 400, true)...)
		if !has(o, "contents") {
			d = append(d, Detail{Message: "must be specified", Property: prop + ".contents"})
		}
	case "":
		d = append(d, Detail{Message: "must be specified", Property: prop + ".type"})
	default:
		d = append(d, Detail{Message: "invalid type: " + t, Property: prop + ".type"})
	}
	if has(o, "quickReply") {
		d = append(d, validateQuickReply(prop+".quickReply", o["quickReply"])...)
	}
	return d
}

func validateQuickReply(prop string, raw json.RawMessage) []Detail {
	var qr struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(raw, &qr); err != nil {
		return []Detail{{Message: "must be an object", Property: prop}}
	}
	if len(qr.Items) < 1 || len(qr.Items) > 13 {
		return []Detail{{Message: "Size must be between 1 and 13", Property: prop + ".items"}}
	}
	var d []Detail
	for i, it := range qr.Items {
		p := fmt.Sprintf("%s.items[%d]", prop, i)
		var o jsonObj
		if err := json.Unmarshal(it, &o); err != nil || o == nil {
			d = append(d, Detail{Message: "must be an object", Property: p})
			continue
		}
		if str(o, "type") != "action" {
			d = append(d, Detail{Message: "must be action", Property: p + ".type"})
		}
		d = append(d, checkURL(p, o, "imageUrl", 2000, httpsOnly, false)...)
		d = append(d, validateAction(p+".action", o["action"], true)...)
	}
	return d
}

func validateTemplate(prop string, raw json.RawMessage) []Detail {
	var o jsonObj
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return []Detail{{Message: "must be specified", Property: prop}}
	}
	var d []Detail
	switch t := str(o, "type"); t {
	case "buttons":
		max := 160
		if has(o, "title") || has(o, "thumbnailImageUrl") {
			max = 60
		}
		d = append(d, checkLen(prop, o, "title", 1, 40, false)...)
		d = append(d, checkLen(prop, o, "text", 1, max, true)...)
		d = append(d, checkURL(prop, o, "thumbnailImageUrl", 2000, httpsOnly, false)...)
		if has(o, "defaultAction") {
			d = append(d, validateAction(prop+".defaultAction", o["defaultAction"], false)...)
		}
		_, ad := validateActions(prop+".actions", o["actions"], 1, 4)
		d = append(d, ad...)
	case "confirm":
		d = append(d, checkLen(prop, o, "text", 1, 240, true)...)
		_, ad := validateActions(prop+".actions", o["actions"], 2, 2)
		d = append(d, ad...)
	case "carousel":
		var cols []json.RawMessage
		if err := json.Unmarshal(o["columns"], &cols); err != nil || len(cols) < 1 || len(cols) > 10 {
			return append(d, Detail{Message: "Size must be between 1 and 10", Property: prop + ".columns"})
		}
		count, image, title := -1, false, false
		for i, c := range cols {
			p := fmt.Sprintf("%s.columns[%d]", prop, i)
			var co jsonObj
			if err := json.Unmarshal(c, &co); err != nil || co == nil {
				d = append(d, Detail{Message: "must be an object", Property: p})
				continue
			}
			max := 120
			if has(co, "title") || has(co, "thumbnailImageUrl") {
				max = 60
			}
			d = append(d, checkLen(p, co, "title", 1, 40, false)...)
			d = append(d, checkLen(p, co, "text", 1, max, true)...)
			d = append(d, checkURL(p, co, "thumbnailImageUrl", 2000, httpsOnly, false)...)
			if has(co, "defaultAction") {
				d = append(d, validateAction(p+".defaultAction", co["defaultAction"], false)...)
			}
			n, ad := validateActions(p+".actions", co["actions"], 1, 3)
			d = append(d, ad...)
			if i == 0 {
				count, image, title = n, has(co, "thumbnailImageUrl"), has(co, "title")
			} else if n != count || has(co, "thumbnailImageUrl") != image || has(co, "title") != title {
				// LINE: every column has the same number of actions, and
				// an image and a title on all columns or none.
				d = append(d, Detail{Message: "columns must have the same number of actions, and images and titles on all or none", Property: p})
			}
		}
	default:
		d = append(d, Detail{Message: "invalid template type: " + t, Property: prop + ".type"})
	}
	return d
}

func validateActions(prop string, raw json.RawMessage, min, max int) (int, []Detail) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || len(list) < min || len(list) > max {
		return len(list), []Detail{{Message: fmt.Sprintf("Size must be between %d and %d", min, max), Property: prop}}
	}
	var d []Detail
	for i, a := range list {
		d = append(d, validateAction(fmt.Sprintf("%s[%d]", prop, i), a, true)...)
	}
	return len(list), d
}

// validateAction checks one action object; labelled actions (template and
// quick-reply buttons) need a label of 1–20 characters.
func validateAction(prop string, raw json.RawMessage, labelled bool) []Detail {
	var o jsonObj
	if err := json.Unmarshal(raw, &o); err != nil || o == nil {
		return []Detail{{Message: "must be specified", Property: prop}}
	}
	var d []Detail
	if labelled {
		d = append(d, checkLen(prop, o, "label", 1, 20, true)...)
	}
	switch t := str(o, "type"); t {
	case "postback":
		d = append(d, checkLen(prop, o, "data", 1, 300, true)...)
		d = append(d, checkLen(prop, o, "displayText", 1, 300, false)...)
		if has(o, "displayText") && has(o, "text") {
			d = append(d, Detail{Message: "displayText and text cannot both be set", Property: prop})
		}
	case "message":
		d = append(d, checkLen(prop, o, "text", 1, 300, true)...)
	case "uri":
		d = append(d, checkURL(prop, o, "uri", 1000, uriSchemes, true)...)
	case "datetimepicker":
		d = append(d, checkLen(prop, o, "data", 1, 300, true)...)
		switch str(o, "mode") {
		case "date", "time", "datetime":
		default:
			d = append(d, Detail{Message: "must be one of date, time, datetime", Property: prop + ".mode"})
		}
	case "camera", "cameraRoll", "location", "clipboard", "richmenuswitch":
	default:
		d = append(d, Detail{Message: "invalid action type: " + t, Property: prop + ".type"})
	}
	return d
}
