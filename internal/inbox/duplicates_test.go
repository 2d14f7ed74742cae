package inbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestNormaliseEmailAndPhone(t *testing.T) {
	for in, want := range map[string]string{
		" Ana.Lima@Example.COM ": "ana.lima@example.com",
		"ana@example":            "",
		"@example.com":           "",
		"ana@@example.com":       "",
		"Ana <ana@example.com>":  "",
		"ana@example.":           "",
		"@ana_x":                 "",
		"":                       "",
	} {
		if got := NormaliseEmail(in); got != want {
			t.Errorf("NormaliseEmail(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"+33 6 12 34 56 78":    "33612345678",
		"0033 (6) 12-34-56.78": "33612345678",
		"33612345678":          "33612345678",
		"06 12 34 56 78":       "0612345678",
		"12345":                "",
		"+1 (415) 555-0100":    "14155550100",
		"1234567890123456":     "",
		"call me":              "",
	} {
		if got := NormalisePhone(in); got != want {
			t.Errorf("NormalisePhone(%q) = %q, want %q", in, got, want)
		}
	}
}

// dupFixture is two workspaces with points of contact on several
// channels, filled with raw SQL.
type dupFixture struct {
	t   testing.TB
	db  *store.DB
	s   *Service
	now time.Time
	n   int
}

func newDupFixture(t testing.TB) *dupFixture {
	t.Helper()
	db := storetest.Open(t)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f := &dupFixture{t: t, db: db, now: now, s: New(Options{DB: db, Now: func() time.Time { return now }})}
	for _, ws := range []string{"ws-1", "ws-2"} {
		f.exec(`INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?)`, ws, ws, store.Micros(now))
	}
	for id, typ := range map[string]string{"poc-mail": "email", "poc-sms": "sms", "poc-wa": "whatsapp", "poc-fb": "messenger", "poc-byoc": "byoc"} {
		f.exec(`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES (?, 'ws-1', ?, ?, ?, ?)`, id, typ, id, store.Micros(now), store.Micros(now))
	}
	f.exec(`INSERT INTO points_of_contact (id, workspace_id, type, name, created_at, updated_at) VALUES ('poc2-wa', 'ws-2', 'whatsapp', 'WA 2', ?, ?)`, store.Micros(now), store.Micros(now))
	return f
}

func (f *dupFixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.ExecContext(context.Background(), q, args...); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
}

// contact adds a contact (created one second after the previous one) with
// identities given as "poc-id=address".
func (f *dupFixture) contact(ws, id, name, email, phone string, identities ...string) string {
	f.t.Helper()
	f.n++
	at := store.Micros(f.now.Add(time.Duration(f.n) * time.Second))
	f.exec(`INSERT INTO contacts (id, workspace_id, name, email, phone, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`, id, ws, name, email, phone, at, at)
	for _, ident := range identities {
		poc, addr, _ := strings.Cut(ident, "=")
		var typ string
		if err := f.db.QueryRowContext(context.Background(), `SELECT type FROM points_of_contact WHERE id = ?`, poc).Scan(&typ); err != nil {
			f.t.Fatal(err)
		}
		f.exec(`INSERT INTO contact_identities (id, workspace_id, contact_id, point_of_contact_id, channel_type, address, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			store.NewID(), ws, id, poc, typ, addr, at)
	}
	return id
}

func admin(ws string) *account.User {
	return &account.User{ID: "admin-" + ws, WorkspaceID: ws, Role: account.RoleAdmin}
}

// found renders duplicates as "id:reason=value,…" lines, in order.
func found(ds []Duplicate) []string {
	var out []string
	for _, d := range ds {
		var rs []string
		for _, r := range d.Reasons {
			rs = append(rs, r.Code+"="+r.Value)
		}
		out = append(out, d.Contact.ID+":"+strings.Join(rs, ","))
	}
	return out
}

// TestLikelyDuplicates: the same email (in a field or an email identity,
// whatever its case), the same phone number however written (SMS E.164,
// WhatsApp digits, a field with spaces or a 00 prefix), or the same name
// with an email domain or the end of a phone number in common. Not: a
// Messenger id made of the same digits, a namesake without a second signal,
// a merged contact, anyone of another workspace, anyone an agent may not
// see.
func TestLikelyDuplicates(t *testing.T) {
	f := newDupFixture(t)
	ctx := context.Background()
	ana := f.contact("ws-1", "ana", "Ana Lima", " Ana.Lima@Example.com", "+33 6 12 34 56 78", "poc-byoc=u1")
	f.contact("ws-1", "by-mail", "A. Lima", "", "", "poc-mail=ana.lima@example.com")
	f.contact("ws-1", "by-sms", "", "", "", "poc-sms=+33612345678")
	f.contact("ws-1", "by-wa", "Ana", "", "", "poc-wa=33612345678")
	f.contact("ws-1", "by-field", "Ana L", "", "0033 612 345 678")
	f.contact("ws-1", "fb-digits", "Someone", "", "", "poc-fb=33612345678")
	f.contact("ws-1", "namesake-domain", "ana lima", "other@example.com", "")
	f.contact("ws-1", "namesake-phone", "ANA LIMA ", "", "06 12 34 56 78")
	f.contact("ws-1", "namesake-only", "Ana Lima", "ana@elsewhere.org", "")
	f.contact("ws-1", "merged", "Ana Lima", "ana.lima@example.com", "")
	f.exec(`UPDATE contacts SET merged_into = 'by-mail' WHERE id = 'merged'`)
	f.contact("ws-2", "other-ws", "Ana Lima", "ana.lima@example.com", "+33612345678", "poc2-wa=33612345678")

	ds, err := f.s.LikelyDuplicates(ctx, admin("ws-1"), ana, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"by-mail:same_email=ana.lima@example.com",
		"by-sms:same_phone=33612345678",
		"by-wa:same_phone=33612345678",
		"by-field:same_phone=33612345678",
		"namesake-domain:same_name_email_domain=example.com",
		"namesake-phone:same_name_phone_end=12345678",
	}
	if got := found(ds); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("duplicates of %s:\n%s\nwant:\n%s", ana, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, d := range ds {
		if d.Contact.ID == "by-mail" && (len(d.Contact.Identities) != 1 || d.Contact.Identities[0].ChannelType != "email") {
			t.Errorf("the duplicate comes without its identities: %+v", d.Contact)
		}
	}

	// From the other side: the WhatsApp contact finds Ana by her phone
	// field, the SMS contact by its identity.
	ds, err = f.s.LikelyDuplicates(ctx, admin("ws-1"), "by-wa", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(found(ds), " "); got != "ana:same_phone=33612345678 by-sms:same_phone=33612345678 by-field:same_phone=33612345678" {
		t.Errorf("duplicates of by-wa: %s", got)
	}
	// The other workspace sees only its own.
	if ds, err := f.s.LikelyDuplicates(ctx, admin("ws-2"), "other-ws", 0); err != nil || len(ds) != 0 {
		t.Errorf("other workspace: %v %v", found(ds), err)
	}
	if _, err := f.s.LikelyDuplicates(ctx, admin("ws-2"), ana, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("another workspace's contact: %v", err)
	}
	// An agent limited to WhatsApp and SMS sees only contacts who wrote
	// there.
	agent := &account.User{ID: "agent", WorkspaceID: "ws-1", Role: account.RoleAgent, ChannelPermissions: account.Permissions{"poc-wa": {"reply"}, "poc-sms": {"reply"}}}
	ds, err = f.s.LikelyDuplicates(ctx, agent, "by-wa", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(found(ds), " "); got != "by-sms:same_phone=33612345678" {
		t.Errorf("agent's duplicates: %s", got)
	}
	if _, err := f.s.LikelyDuplicates(ctx, agent, ana, 0); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("agent asking about a contact they may not see: %v", err)
	}
	// The limit keeps the strongest.
	if ds, _ := f.s.LikelyDuplicates(ctx, admin("ws-1"), ana, 2); strings.Join(found(ds), " ") != "by-mail:same_email=ana.lima@example.com by-sms:same_phone=33612345678" {
		t.Errorf("limit 2: %v", found(ds))
	}

	// After a merge the merged contact is no duplicate any more, and its
	// identity is the survivor's.
	sup := &account.User{ID: "sup", WorkspaceID: "ws-1", Role: account.RoleSupervisor}
	merged, err := f.s.MergeContacts(ctx, sup, ana, "by-mail")
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Identities) != 2 {
		t.Errorf("identities after the merge: %+v", merged.Identities)
	}
	ds, _ = f.s.LikelyDuplicates(ctx, admin("ws-1"), ana, 0)
	for _, d := range ds {
		if d.Contact.ID == "by-mail" {
			t.Error("a merged contact is still listed as a duplicate")
		}
	}
	if ds, err := f.s.LikelyDuplicates(ctx, admin("ws-1"), "by-mail", 0); err != nil || len(ds) != 0 {
		t.Errorf("duplicates of a merged contact: %v %v", found(ds), err)
	}
}

// scaleContacts is how many contacts TestLikelyDuplicatesAt100kContacts
// inserts (PARLEY_DUPLICATES_SCALE overrides it).
func scaleContacts() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_DUPLICATES_SCALE")); err == nil && n >= 5_000 { // the duplicates to find are among the first 5,000
		return n
	}
	if testing.Short() || raceBuild() {
		// Under -race SQLite's pure-Go engine is instrumented: 100,000
		// inserts and scans take minutes. The figures are measured
		// without it:
		//   go test ./internal/inbox -run TestLikelyDuplicatesAt100kContacts -v
		return 5_000
	}
	return 100_000
}

// raceBuild tells whether the test binary was built with -race.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestLikelyDuplicatesAt100kContacts measures LikelyDuplicates with
// 100,000 contacts in the workspace (a third with an email, a third with a
// phone, each with an identity), first with the schema as it is, then with
// the indexes of migration 0012_contact_keys: the query plans must use them, and the
// identities lookup uses contact_identities_address already. Times are
// logged; the test fails only far above the target (the machine is shared).
func TestLikelyDuplicatesAt100kContacts(t *testing.T) {
	n := scaleContacts()
	f := newDupFixture(t)
	ctx := context.Background()
	began := time.Now()
	const batch = 300
	err := f.db.InTx(ctx, func(tx *store.Tx) error {
		for from := 0; from < n; from += batch {
			var cs, is []string
			var ca, ia []any
			for i := from; i < min(n, from+batch); i++ {
				id := fmt.Sprintf("c%06d", i)
				var email, phone string
				switch i % 3 {
				case 0:
					email = fmt.Sprintf("Customer.%d@Example.com", i)
				case 1:
					phone = fmt.Sprintf("+44 7700 %06d", i)
				}
				at := store.Micros(f.now.Add(time.Duration(i) * time.Second))
				cs = append(cs, "(?, 'ws-1', ?, ?, ?, ?, ?)")
				ca = append(ca, id, fmt.Sprintf("Customer %d", i), email, phone, at, at)
				poc, addr := "poc-wa", fmt.Sprintf("4477%08d", i)
				if i%2 == 0 {
					poc, addr = "poc-mail", fmt.Sprintf("customer.%d@mail.example", i)
				}
				is = append(is, "(?, 'ws-1', ?, ?, ?, ?, ?)")
				ia = append(ia, "i"+id, id, poc, map[string]string{"poc-wa": "whatsapp", "poc-mail": "email"}[poc], addr, at)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (id, workspace_id, name, email, phone, created_at, updated_at) VALUES `+strings.Join(cs, ", "), ca...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO contact_identities (id, workspace_id, contact_id, point_of_contact_id, channel_type, address, created_at) VALUES `+strings.Join(is, ", "), ia...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The duplicates to find, among the 100,000.
	me := f.contact("ws-1", "me", "Customer 4242", "customer.3000@example.com", "07700 000 004", "poc-sms=+447700000001", "poc-byoc=customer.8@mail.example")
	f.exec(`ANALYZE`)
	t.Logf("inserted %d contacts and identities on %s in %v", n, storetest.Describe(), time.Since(began).Round(time.Millisecond))
	measure := func() (time.Duration, []Duplicate) {
		var times []time.Duration
		var ds []Duplicate
		for i := 0; i < 6; i++ {
			start := time.Now()
			var err error
			if ds, err = f.s.LikelyDuplicates(ctx, admin("ws-1"), me, 0); err != nil {
				t.Fatal(err)
			}
			if i > 0 {
				times = append(times, time.Since(start))
			}
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		return times[len(times)/2], ds
	}
	check := func(ds []Duplicate) {
		t.Helper()
		got := map[string]string{}
		for _, d := range found(ds) {
			id, rs, _ := strings.Cut(d, ":")
			got[id] = rs
		}
		for id, rs := range map[string]string{
			"c003000": "same_email=customer.3000@example.com", // the field, whatever its case
			"c000001": "same_phone=447700000001",              // the WhatsApp identity
			"c000008": "same_email=customer.8@mail.example",   // the email identity
			"c004242": "same_name_email_domain=example.com",   // the namesake
		} {
			if got[id] != rs {
				t.Errorf("%s: %q, want %q (all: %v)", id, got[id], rs, found(ds))
			}
		}
		if len(ds) != 4 {
			t.Errorf("found %v", found(ds))
		}
	}
	without, ds := measure()
	check(ds)
	t.Logf("LikelyDuplicates with %d contacts, schema as it is: median %v", n, without.Round(time.Microsecond))

	plan := func(q string, args ...any) string {
		t.Helper()
		prefix := "EXPLAIN QUERY PLAN "
		if f.db.Dialect() == store.Postgres {
			prefix = "EXPLAIN "
		}
		rows, err := f.db.QueryContext(ctx, prefix+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var lines []string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
		}
		return strings.Join(lines, "\n")
	}
	identities := plan(`SELECT i.contact_id FROM contact_identities i WHERE i.point_of_contact_id IN (SELECT p.id FROM points_of_contact p WHERE p.workspace_id = ?)
		AND i.address IN (?, ?) AND i.workspace_id = ?`, "ws-1", "447700000001", "+447700000001", "ws-1")
	if !strings.Contains(identities, "contact_identities_address") {
		t.Errorf("the identities lookup does not use contact_identities_address:\n%s", identities)
	}

	f.exec(`ANALYZE`)
	mc, err := f.s.GetContact(ctx, admin("ws-1"), me)
	if err != nil {
		t.Fatal(err)
	}
	q, args := dupFieldQuery("ws-1", dupSignalsOf(mc), mc.Name)
	fields := plan(q, args...)
	t.Logf("field lookup plan with the recommended indexes:\n%s", fields)
	for _, idx := range []string{"contacts_email_key", "contacts_phone_key", "contacts_name_key"} {
		if !strings.Contains(fields, idx) {
			t.Errorf("with the recommended indexes, the field lookup does not use %s:\n%s", idx, fields)
		}
	}
	with, ds := measure()
	check(ds)
	t.Logf("LikelyDuplicates with %d contacts and the recommended indexes: median %v", n, with.Round(time.Microsecond))
	if with > 100*time.Millisecond {
		t.Errorf("with the indexes: %v, far above a few milliseconds", with)
	}
}
