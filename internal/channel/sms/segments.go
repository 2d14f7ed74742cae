package sms

import "strings"

// Encodings an SMS is sent in.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// gsm7Basic is the GSM 03.38 default alphabet (one septet each).
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension is the default extension table: an escape plus the
// character, two septets each.
const gsm7Extension = "\f^{}\\[~]|€"

// Segment sizes (characters per message).
const (
	gsm7Single = 160
	gsm7Part   = 153 // a 7-septet user data header per part
	ucs2Single = 70
	ucs2Part   = 67 // in UTF-16 code units
)

// Segments counts the SMS segments text needs and their encoding: GSM-7
// when every character is in the default alphabet or its extension table
// (extension characters take two septets), else UCS-2 (counted in UTF-16
// code units: characters outside the Basic Multilingual Plane, like most
// emoji, take two). A single message holds 160 septets or 70 units;
// concatenated parts 153 or 67, and an escape sequence or a surrogate pair
// is never split across two parts. Empty text is 0 segments. Twilio's
// "smart encoding", which may turn curly quotes into GSM-7 ones, is not
// assumed.
func (a *Adapter) Segments(text string) (int, string) { return Segments(text) }

// Segments is Adapter.Segments as a function.
func Segments(text string) (segments int, encoding string) {
	encoding = EncodingGSM7
	units := make([]int, 0, len(text)) // the size of each character
	total := 0
	for _, r := range text {
		n := 1
		switch {
		case strings.ContainsRune(gsm7Basic, r):
		case strings.ContainsRune(gsm7Extension, r):
			n = 2
		default:
			encoding = EncodingUCS2
		}
		units = append(units, n)
		total += n
	}
	if encoding == EncodingUCS2 {
		units, total = units[:0], 0
		for _, r := range text {
			n := 1
			if r > 0xFFFF {
				n = 2
			}
			units = append(units, n)
			total += n
		}
	}
	if total == 0 {
		return 0, encoding
	}
	single, part := gsm7Single, gsm7Part
	if encoding == EncodingUCS2 {
		single, part = ucs2Single, ucs2Part
	}
	if total <= single {
		return 1, encoding
	}
	segments, used := 1, 0
	for _, n := range units {
		if used+n > part {
			segments++
			used = 0
		}
		used += n
	}
	return segments, encoding
}
