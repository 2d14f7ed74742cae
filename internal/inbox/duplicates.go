package inbox

import (
	"context"
	"sort"
	"strings"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/store"
)

// Likely duplicates: other contacts of the same workspace who are probably
// the same person as a given contact — the same email address or phone
// number (normalised), or the same name together with a second, weaker
// signal. A supervisor then merges them (MergeContacts).
//
// Signals come from a contact's own fields and from its identities: an
// address that looks like an email address is an email on any channel; an
// address is a phone number on the phone channels (SMS, WhatsApp) or when
// written in E.164 ("+" and digits). Other addresses (Messenger ids, X
// handles, Telegram chat ids) are ids of one platform and never compared
// across platforms.
//
// Every lookup is an index lookup or a bounded one:
//   - identities sharing an address: contact_identities_address
//     (point_of_contact_id, address), for the workspace's points of contact;
//   - contacts' own email, phone and name fields: the expressions below, in
//     the shape of the expression indexes of migration 0012_contact_keys;
//   - the candidates' details and identities: primary keys and
//     contact_identities_contact (workspace_id, contact_id).

// Reasons a contact is a likely duplicate of another.
const (
	// DuplicateSameEmail: an email address in common.
	DuplicateSameEmail = "same_email"
	// DuplicateSamePhone: a phone number in common (digits compared).
	DuplicateSamePhone = "same_phone"
	// DuplicateSameNameEmailDomain: the same name and an email domain in
	// common.
	DuplicateSameNameEmailDomain = "same_name_email_domain"
	// DuplicateSameNamePhoneEnd: the same name and phone numbers ending
	// with the same digits (one written nationally, one internationally).
	DuplicateSameNamePhoneEnd = "same_name_phone_end"
)

// SQL forms of the normalised fields. The recommended indexes
// (migration 0012_contact_keys) are built on exactly these expressions, which is what
// lets the database use them.
const (
	emailKeySQL = `LOWER(TRIM(email))`
	nameKeySQL  = `LOWER(TRIM(name))`
	// phoneKeySQL keeps the digits of the usual ways of writing a number
	// (spaces, dashes, dots, brackets, slashes, a leading +).
	phoneKeySQL = `REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(phone, ' ', ''), '-', ''), '.', ''), '(', ''), ')', ''), '+', ''), '/', '')`
)

// DuplicateReason is one reason, with what matched (the email address, the
// phone digits, the email domain or the common end of the numbers).
type DuplicateReason struct {
	Code  string `json:"code"`
	Value string `json:"value"`
}

// Duplicate is a likely duplicate and why.
type Duplicate struct {
	Contact *Contact          `json:"contact"`
	Reasons []DuplicateReason `json:"reasons"`
}

// Strong reports whether an email or phone number is shared (not only a
// name with a weaker signal).
func (d Duplicate) Strong() bool {
	for _, r := range d.Reasons {
		if r.Code == DuplicateSameEmail || r.Code == DuplicateSamePhone {
			return true
		}
	}
	return false
}

const (
	// maxDuplicateCandidates bounds each lookup: a very common name (or an
	// address shared by a whole family) must not make the card slow.
	maxDuplicateCandidates = 50
	// phoneEndDigits is how many final digits two numbers written
	// differently (0612345678, +33 6 12 34 56 78) must share.
	phoneEndDigits = 8
	minPhoneDigits = 7
	maxPhoneDigits = 15
)

// NormaliseEmail is an email address as compared: trimmed, lower case; ""
// when it does not look like an email address.
func NormaliseEmail(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || strings.Count(s, "@") != 1 || strings.ContainsAny(s, " \t<>,;") {
		return ""
	}
	if dot := strings.LastIndexByte(s[at+1:], '.'); dot <= 0 || dot == len(s[at+1:])-1 {
		return ""
	}
	return s
}

// NormalisePhone is a phone number as compared: its digits, without an
// international "00" prefix (E.164 without the "+"); "" when it has too few
// or too many digits to be a phone number. A number written nationally
// (0612345678) stays as written: without a country it cannot be completed.
func NormalisePhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	d := strings.TrimPrefix(b.String(), "00")
	if len(d) < minPhoneDigits || len(d) > maxPhoneDigits {
		return ""
	}
	return d
}

func dupNameKey(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// phoneChannels are the channel types whose addresses are phone numbers.
var phoneChannels = map[string]bool{"sms": true, "whatsapp": true}

// dupSignals are what a contact is compared on.
type dupSignals struct {
	name   string
	emails map[string]bool
	phones map[string]bool
}

// dupIdentityEmail and dupIdentityPhone classify an identity's address.
func dupIdentityEmail(i Identity) string { return NormaliseEmail(i.Address) }

func dupIdentityPhone(i Identity) string {
	a := strings.TrimSpace(i.Address)
	if phoneChannels[i.ChannelType] || (strings.HasPrefix(a, "+") && strings.Trim(a[1:], "0123456789 -.()") == "") {
		return NormalisePhone(a)
	}
	return ""
}

func dupSignalsOf(c *Contact) dupSignals {
	s := dupSignals{name: dupNameKey(c.Name), emails: map[string]bool{}, phones: map[string]bool{}}
	if e := NormaliseEmail(c.Email); e != "" {
		s.emails[e] = true
	}
	if p := NormalisePhone(c.Phone); p != "" {
		s.phones[p] = true
	}
	for _, i := range c.Identities {
		if e := dupIdentityEmail(i); e != "" {
			s.emails[e] = true
		}
		if p := dupIdentityPhone(i); p != "" {
			s.phones[p] = true
		}
	}
	return s
}

// dupReasons compares two contacts' signals.
func dupReasons(a, b dupSignals) []DuplicateReason {
	var out []DuplicateReason
	if e := firstInBoth(a.emails, b.emails); e != "" {
		out = append(out, DuplicateReason{DuplicateSameEmail, e})
	}
	if p := firstInBoth(a.phones, b.phones); p != "" {
		out = append(out, DuplicateReason{DuplicateSamePhone, p})
	}
	if a.name == "" || a.name != b.name {
		return out
	}
	if !hasDupReason(out, DuplicateSameEmail) {
		if d := firstInBoth(emailDomains(a.emails), emailDomains(b.emails)); d != "" {
			out = append(out, DuplicateReason{DuplicateSameNameEmailDomain, d})
		}
	}
	if !hasDupReason(out, DuplicateSamePhone) {
		if e := firstInBoth(phoneEndings(a.phones), phoneEndings(b.phones)); e != "" {
			out = append(out, DuplicateReason{DuplicateSameNamePhoneEnd, e})
		}
	}
	return out
}

func hasDupReason(rs []DuplicateReason, code string) bool {
	for _, r := range rs {
		if r.Code == code {
			return true
		}
	}
	return false
}

// firstInBoth is the smallest key two sets share ("" if none): sorted, so
// the same pair always gives the same reason.
func firstInBoth(a, b map[string]bool) string {
	var common []string
	for k := range a {
		if b[k] {
			common = append(common, k)
		}
	}
	if len(common) == 0 {
		return ""
	}
	sort.Strings(common)
	return common[0]
}

func emailDomains(emails map[string]bool) map[string]bool {
	out := map[string]bool{}
	for e := range emails {
		out[e[strings.LastIndexByte(e, '@')+1:]] = true
	}
	return out
}

func phoneEndings(phones map[string]bool) map[string]bool {
	out := map[string]bool{}
	for p := range phones {
		if len(p) >= phoneEndDigits {
			out[p[len(p)-phoneEndDigits:]] = true
		}
	}
	return out
}

// LikelyDuplicates lists the other contacts of the user's workspace that
// are probably the same person as contact id, strongest first (an email or
// phone in common, then the oldest contact), at most limit (default 20).
// Merged contacts are left out, and so are contacts the user may not see
// (agents limited to some points of contact see only contacts who wrote
// to them, as GetContact).
func (s *Service) LikelyDuplicates(ctx context.Context, u *account.User, id string, limit int) ([]Duplicate, error) {
	if limit <= 0 {
		limit = 20
	}
	c, err := s.GetContact(ctx, u, id)
	if err != nil {
		return nil, err
	}
	out := []Duplicate{}
	if c.MergedInto != nil {
		return out, nil
	}
	me := dupSignalsOf(c)
	ids, err := s.dupCandidates(ctx, u.WorkspaceID, c, me)
	if err != nil {
		return nil, err
	}
	delete(ids, c.ID)
	if len(ids) == 0 {
		return out, nil
	}
	if !u.SeesAll() {
		if ids, err = s.visibleOf(ctx, u, ids); err != nil {
			return nil, err
		}
	}
	cands, err := s.dupContacts(ctx, u.WorkspaceID, ids)
	if err != nil {
		return nil, err
	}
	for _, other := range cands {
		if rs := dupReasons(me, dupSignalsOf(other)); len(rs) > 0 {
			out = append(out, Duplicate{Contact: other, Reasons: rs})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := out[i].Strong(), out[j].Strong(); a != b {
			return a
		}
		if !out[i].Contact.CreatedAt.Equal(out[j].Contact.CreatedAt) {
			return out[i].Contact.CreatedAt.Before(out[j].Contact.CreatedAt)
		}
		return out[i].Contact.ID < out[j].Contact.ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// dupCandidates finds the ids of contacts that share an address or
// a name with c; dupReasons decides which of them are likely duplicates.
func (s *Service) dupCandidates(ctx context.Context, workspaceID string, c *Contact, me dupSignals) (map[string]bool, error) {
	ids := map[string]bool{}
	// Identities: every way the addresses are written on the platforms.
	var addrs []any
	seen := map[string]bool{}
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	for e := range me.emails {
		add(e)
	}
	if e := strings.TrimSpace(c.Email); NormaliseEmail(e) != "" {
		add(e)
	}
	for _, i := range c.Identities {
		if dupIdentityEmail(i) != "" {
			add(i.Address)
		}
	}
	for p := range me.phones {
		add(p)       // WhatsApp ids
		add("+" + p) // SMS: E.164
	}
	if len(addrs) > 0 {
		rows, err := s.db.QueryContext(ctx, `SELECT i.contact_id, i.channel_type, i.address FROM contact_identities i
			WHERE i.point_of_contact_id IN (SELECT p.id FROM points_of_contact p WHERE p.workspace_id = ?)
			AND i.address IN (`+placeholders(len(addrs))+`) AND i.workspace_id = ? LIMIT ?`,
			append(append([]any{workspaceID}, addrs...), workspaceID, maxDuplicateCandidates)...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var i Identity
			var contact string
			if err := rows.Scan(&contact, &i.ChannelType, &i.Address); err != nil {
				rows.Close()
				return nil, err
			}
			// A Messenger id made of digits is not a phone number:
			// only addresses that are what they look like count.
			if me.emails[dupIdentityEmail(i)] || me.phones[dupIdentityPhone(i)] {
				ids[contact] = true
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	// The contacts' own fields, in one statement: one pass over the
	// workspace without the indexes, three index lookups with them.
	q, args := dupFieldQuery(workspaceID, me, c.Name)
	if q == "" {
		return ids, nil
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// dupFieldQuery selects the contacts whose own email, phone or name field
// matches (name is the contact's name as written); "" when there is nothing
// to compare.
func dupFieldQuery(workspaceID string, me dupSignals, name string) (string, []any) {
	var conds []string
	var args []any
	if len(me.emails) > 0 {
		es := sortedArgs(me.emails)
		conds = append(conds, `(email <> '' AND `+emailKeySQL+` IN (`+placeholders(len(es))+`))`)
		args = append(args, es...)
	}
	if len(me.phones) > 0 {
		var ps []any
		for _, p := range sortedArgs(me.phones) {
			ps = append(ps, p, "00"+p.(string))
		}
		conds = append(conds, `(phone <> '' AND `+phoneKeySQL+` IN (`+placeholders(len(ps))+`))`)
		args = append(args, ps...)
	}
	if me.name != "" {
		conds = append(conds, `(name <> '' AND `+nameKeySQL+` = `+strings.ReplaceAll(nameKeySQL, "name", "?")+`)`)
		args = append(args, name)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return `SELECT id FROM contacts WHERE workspace_id = ? AND (` + strings.Join(conds, " OR ") + `) AND merged_into IS NULL LIMIT ?`,
		append(append([]any{workspaceID}, args...), 3*maxDuplicateCandidates)
}

// visibleOf keeps the contacts with an identity on a point of contact
// the user may see.
func (s *Service) visibleOf(ctx context.Context, u *account.User, ids map[string]bool) (map[string]bool, error) {
	cond, vargs := visibility(u, "point_of_contact_id")
	list := sortedArgs(ids)
	args := append([]any{u.WorkspaceID}, list...)
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT contact_id FROM contact_identities WHERE workspace_id = ? AND contact_id IN (`+placeholders(len(list))+`)`+cond,
		append(args, vargs...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// dupContacts reads contacts (not merged ones) with their identities.
func (s *Service) dupContacts(ctx context.Context, workspaceID string, ids map[string]bool) ([]*Contact, error) {
	out := []*Contact{}
	if len(ids) == 0 {
		return out, nil
	}
	list := sortedArgs(ids)
	rows, err := s.db.QueryContext(ctx, `SELECT `+contactColumns+` FROM contacts WHERE workspace_id = ? AND id IN (`+placeholders(len(list))+`) AND merged_into IS NULL`,
		append([]any{workspaceID}, list...)...)
	if err != nil {
		return nil, err
	}
	byID := map[string]*Contact{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		byID[c.ID] = c
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return out, nil
	}
	irows, err := s.db.QueryContext(ctx, `SELECT contact_id, id, point_of_contact_id, channel_type, address, display_name, created_at FROM contact_identities
		WHERE workspace_id = ? AND contact_id IN (`+placeholders(len(list))+`) ORDER BY created_at, id`, append([]any{workspaceID}, list...)...)
	if err != nil {
		return nil, err
	}
	defer irows.Close()
	for irows.Next() {
		var contact string
		var i Identity
		var at int64
		if err := irows.Scan(&contact, &i.ID, &i.PointOfContactID, &i.ChannelType, &i.Address, &i.DisplayName, &at); err != nil {
			return nil, err
		}
		i.CreatedAt = store.Time(at)
		if c := byID[contact]; c != nil {
			c.Identities = append(c.Identities, i)
		}
	}
	return out, irows.Err()
}

// sortedArgs lists a set's members in a stable order, as query arguments.
func sortedArgs(set map[string]bool) []any {
	list := make([]string, 0, len(set))
	for k := range set {
		list = append(list, k)
	}
	sort.Strings(list)
	out := make([]any, len(list))
	for i, k := range list {
		out[i] = k
	}
	return out
}
