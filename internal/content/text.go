package content

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// fold lowers case, strips accents and collapses punctuation and spaces so
// "Équipe  B!" and "equipe b" compare equal: customers type answers on
// phones, without accents and in any case. A transform.Chain holds state,
// so a new one is built per call (no shared mutable globals).
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	var b strings.Builder
	space := false
	for _, r := range out {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(foldSpecial(r)))
		default:
			space = true
		}
	}
	return b.String()
}

// foldSpecial maps letters that have no decomposition to their usual ASCII
// spelling (œ is not "o" + accent).
func foldSpecial(r rune) rune {
	switch r {
	case 'ø', 'Ø':
		return 'o'
	case 'ł', 'Ł':
		return 'l'
	case 'đ', 'Đ':
		return 'd'
	case 'ı':
		return 'i'
	}
	return r
}

// words splits folded text into words.
func words(s string) []string { return strings.Fields(fold(s)) }

// truncate cuts s to at most max characters, ending with "…" when cut, so
// a channel's label limit is met without losing that there was more.
func truncate(s string, max int) string {
	if max <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	if max == 1 {
		return "…"
	}
	return strings.TrimRightFunc(string(r[:max-1]), unicode.IsSpace) + "…"
}

// fits reports whether s is at most max characters.
func fits(s string, max int) bool { return utf8.RuneCountInString(s) <= max }

// splitAny splits s on any of the separator characters, dropping empties.
func splitAny(s, seps string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) })
}

// levenshtein is the edit distance of two short strings (both bounded by
// the callers: labels ≤ 40 characters, words of an answer).
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return 64
	}
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
