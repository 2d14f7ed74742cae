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
// messages, or its subject, holds every word of the search (each as a word
// prefix: "parc" finds "parcel"), through the full-text index (FTS5 on
// SQLite, GIN indexes on PostgreSQL); or when the whole search appears in
// the contact's name, email or phone. The matching case ids are gathered
// first (one UNION), so the list is sorted from a few rows, not filtered
// while walking every case.
func (s *Service) textCondition(workspaceID, text string) (string, []any) {
	like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(strings.TrimSpace(text))) + "%"
	contacts := `SELECT c3.id FROM cases c3 WHERE c3.workspace_id = ? AND c3.contact_id IN (SELECT k2.id FROM contacts k2 WHERE k2.workspace_id = ? AND
		(LOWER(k2.name) LIKE ? ESCAPE '\' OR LOWER(k2.email) LIKE ? ESCAPE '\' OR k2.phone LIKE ? ESCAPE '\'))`
	contactArgs := []any{workspaceID, workspaceID, like, like, like}
	words := searchWords(text)
	if len(words) == 0 {
		return "c.id IN (" + contacts + ")", contactArgs
	}
	q := make([]string, len(words))
	if s.db.Dialect() == store.Postgres {
		for i, w := range words {
			q[i] = w + ":*"
		}
		tsq := strings.Join(q, " & ")
		return `c.id IN (SELECT m.case_id FROM messages m WHERE to_tsvector('simple', m.text) @@ to_tsquery('simple', ?) AND m.workspace_id = ?
			UNION SELECT c4.id FROM cases c4 WHERE to_tsvector('simple', c4.subject) @@ to_tsquery('simple', ?) AND c4.workspace_id = ?
			UNION ` + contacts + `)`, append([]any{tsq, workspaceID, tsq, workspaceID}, contactArgs...)
	}
	for i, w := range words {
		q[i] = `"` + w + `"*`
	}
	return `c.id IN (SELECT case_id FROM message_search WHERE message_search MATCH ? UNION ` + contacts + `)`,
		append([]any{strings.Join(q, " ")}, contactArgs...)
}
