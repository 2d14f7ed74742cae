package sms

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	r := strings.Repeat
	cases := []struct {
		name     string
		text     string
		segments int
		encoding string
	}{
		{"empty", "", 0, EncodingGSM7},
		{"short", "Hello @ home, £5 ¿ok? Ñoño über Ø", 1, EncodingGSM7},
		{"exactly 160", r("a", 160), 1, EncodingGSM7},
		{"161", r("a", 161), 2, EncodingGSM7},
		{"306 = 2×153", r("a", 306), 2, EncodingGSM7},
		{"307", r("a", 307), 3, EncodingGSM7},
		{"euro is an extension character", "Price: 5€", 1, EncodingGSM7},
		{"80 euros = 160 septets", r("€", 80), 1, EncodingGSM7},
		{"81 euros = 162 septets", r("€", 81), 2, EncodingGSM7},
		{"159 + euro = 161 septets", r("a", 159) + "€", 2, EncodingGSM7},
		{"extension characters", "{}[]~|^\\\f", 1, EncodingGSM7},
		{"an escape is never split across parts", r("a", 152) + "€" + r("a", 152), 3, EncodingGSM7},
		{"newlines are GSM-7", "a\nb\r\n", 1, EncodingGSM7},
		{"lowercase c cedilla is not GSM-7", "ça va", 1, EncodingUCS2},
		{"curly quote is not GSM-7", "it’s", 1, EncodingUCS2},
		{"emoji", "😀", 1, EncodingUCS2},
		{"70 UCS-2 characters", r("д", 70), 1, EncodingUCS2},
		{"71 UCS-2 characters", r("д", 71), 2, EncodingUCS2},
		{"134 = 2×67", r("д", 134), 2, EncodingUCS2},
		{"135", r("д", 135), 3, EncodingUCS2},
		{"35 emoji = 70 code units", r("😀", 35), 1, EncodingUCS2},
		{"36 emoji = 72 code units", r("😀", 36), 2, EncodingUCS2},
		{"a surrogate pair is never split", r("д", 66) + "😀" + r("д", 66), 3, EncodingUCS2},
		{"one emoji turns 100 GSM characters into UCS-2", r("a", 100) + "🚚", 2, EncodingUCS2},
		{"1600 characters", r("a", 1600), 11, EncodingGSM7},
	}
	a := New(nil, nil)
	for _, c := range cases {
		n, enc := a.Segments(c.text)
		if n != c.segments || enc != c.encoding {
			t.Errorf("%s: Segments = %d %s, want %d %s", c.name, n, enc, c.segments, c.encoding)
		}
	}
}
