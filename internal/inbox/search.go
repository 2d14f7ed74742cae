package inbox

import (
	"strings"
	"unicode"

	"github.com/parleyhq/parley/internal/store"
)

// maxSearchWords bounds a text search (each word is one index lookup).
const maxSearchWords = 8

// searchWords splits a search into words: runs of letters and digits,
// lower-cased, at most maxSearchWords. Everything else separates words, so
// no user input reaches the full-text query syntax.
func searchWords(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	return words
}

// textCondition is the inbox's text filter: a case matches when one of its
// messages holds every word of the search (each as a word prefix: "parc"
// finds "parcel"), through the full-text index (FTS5 on SQLite, a GIN
// index on PostgreSQL); or when the whole search appears in the case's
// subject or the contact's name, email or phone. The caller has already
// limited c (cases) to the workspace; the message index is limited to it
// too on PostgreSQL, where messages carry workspace_id in the same index
// lookup.
func (s *Service) textCondition(workspaceID, text string) (string, []any) {
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(strings.TrimSpace(text))) + "%"
	direct := `LOWER(c.subject) LIKE ? ESCAPE '\' OR c.contact_id IN (SELECT k2.id FROM contacts k2 WHERE k2.workspace_id = ? AND
		(LOWER(k2.name) LIKE ? ESCAPE '\' OR LOWER(k2.email) LIKE ? ESCAPE '\' OR k2.phone LIKE ? ESCAPE '\'))`
	args := []any{like, workspaceID, like, like, like}
	words := searchWords(text)
	if len(words) == 0 {
		return "(" + direct + ")", args
	}
	var msg string
	if s.db.Dialect() == store.Postgres {
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = w + ":*"
		}
		msg = `c.id IN (SELECT m.case_id FROM messages m WHERE to_tsvector('simple', m.text) @@ to_tsquery('simple', ?) AND m.workspace_id = ?)`
		args = append(args, strings.Join(q, " & "), workspaceID)
	} else {
		q := make([]string, len(words))
		for i, w := range words {
			q[i] = `"` + w + `"*`
		}
		msg = `c.id IN (SELECT case_id FROM message_search WHERE message_search MATCH ?)`
		args = append(args, strings.Join(q, " "))
	}
	return "(" + direct + " OR " + msg + ")", args
}
