package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/storetest"
)

// TestTwoNodesRouteWithoutDoubleOffersOrOverCapacity: two parley
// processes on one PostgreSQL; 5,000 cases arrive concurrently through the
// BYOC API on both; 20 agents, each talking to either node at random,
// accept (or reject) their offers and resolve their cases. A checker reads
// the database all along: no case ever has two live offers, no agent ever
// holds more than their capacity, and in the end every case was accepted
// exactly once.
func TestTwoNodesRouteWithoutDoubleOffersOrOverCapacity(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two servers")
	}
	storetest.RequirePostgres(t)
	a := newProcess(t, "PARLEY_ROUTING_TICK=100ms")
	a.start()
	// Node B: same database, its own port and data directory.
	b := &process{t: t, bin: a.bin, url: "http://" + freePort(t)}
	for _, kv := range a.env {
		switch {
		case strings.HasPrefix(kv, "PARLEY_ADDR="):
			kv = "PARLEY_ADDR=" + strings.TrimPrefix(b.url, "http://")
		case strings.HasPrefix(kv, "PARLEY_DATA_DIR="):
			kv = "PARLEY_DATA_DIR=" + t.TempDir()
		}
		b.env = append(b.env, kv)
	}
	// Both nodes must share the secret key (credentials are encrypted).
	key, err := os.ReadFile(envValue(a.env, "PARLEY_DATA_DIR") + "/secret.key")
	if err != nil {
		t.Fatal(err)
	}
	b.env = append(b.env, "PARLEY_SECRET_KEY="+strings.TrimSpace(string(key)))
	b.start()
	nodes := []*process{a, b}
	// (nodes is used by the logins below.)

	admin, pocID, pocToken, _ := a.setup("http://127.0.0.1:9/unused")
	var skill struct{ ID string }
	if s := a.call("POST", "/api/v1/skills", admin, map[string]any{"name": "general", "offer_timeout_seconds": 5}, &skill); s != 201 {
		t.Fatalf("skill: %d", s)
	}
	if s := a.call("PATCH", "/api/v1/points-of-contact/"+pocID, admin, map[string]any{"default_skill_id": skill.ID}, nil); s != 200 {
		t.Fatalf("default skill: %d", s)
	}
	const agents, total = 20, 5000
	capacity := map[string]int{}
	tokens := make([]string, agents)
	ids := make([]string, agents)
	for i := range agents {
		var u struct{ ID string }
		email := fmt.Sprintf("agent%02d@example.com", i)
		if s := a.call("POST", "/api/v1/users", admin, map[string]any{"email": email, "name": email, "role": "agent", "password": "agent-password-123",
			"channel_permissions": map[string][]string{"*": {"reply"}}}, &u); s != 201 {
			t.Fatalf("user: %d", s)
		}
		var tok struct{ Token string }
		for try := 0; ; try++ {
			// Logins are rate limited per address and node.
			s := nodes[try%2].call("POST", "/api/v1/auth/token", "", map[string]string{"email": email, "password": "agent-password-123"}, &tok)
			if s == 201 {
				break
			}
			if s != 429 || try > 40 {
				t.Fatalf("login: %d", s)
			}
			time.Sleep(250 * time.Millisecond)
		}
		c := 2 + i%4
		capacity[u.ID] = c
		ids[i], tokens[i] = u.ID, tok.Token
		if s := a.call("PUT", "/api/v1/agents/"+u.ID+"/capacity", admin, map[string]int{"chat": c, "messaging": c, "email": c, "social": c, "total": c}, nil); s != 200 {
			t.Fatalf("capacity: %d", s)
		}
		if s := a.call("PUT", "/api/v1/agents/"+u.ID+"/skills", admin, map[string]any{"skills": []map[string]any{{"skill_id": skill.ID, "proficiency": 1 + i%10}}}, nil); s != 200 {
			t.Fatalf("skills: %d", s)
		}
		if s := nodes[i%2].call("PUT", "/api/v1/agents/me/state", tok.Token, map[string]string{"state": "available"}, nil); s != 200 {
			t.Fatalf("state: %d", s)
		}
	}

	db, err := store.Open(context.Background(), store.Options{URL: envValue(a.env, "PARLEY_DATABASE_URL"), DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var doubleOffers, overCapacity, checks atomic.Int64
	var wg sync.WaitGroup
	// The checker.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT case_id FROM offers WHERE status = 'pending' GROUP BY case_id HAVING COUNT(*) > 1) x`).Scan(&n); err == nil {
				doubleOffers.Add(int64(n))
			}
			rows, err := db.QueryContext(ctx, `SELECT u, SUM(n) FROM (
				SELECT assignee_id AS u, COUNT(*) AS n FROM cases WHERE assignee_id IS NOT NULL AND status IN ('new','open','escalated') GROUP BY assignee_id
				UNION ALL SELECT user_id AS u, COUNT(*) AS n FROM offers WHERE status = 'pending' GROUP BY user_id) x GROUP BY u`)
			if err == nil {
				for rows.Next() {
					var u string
					var held int
					if rows.Scan(&u, &held) == nil && held > capacity[u] {
						overCapacity.Add(1)
						t.Errorf("agent %s holds %d with a capacity of %d", u, held, capacity[u])
					}
				}
				rows.Close()
			}
			checks.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// The agents.
	var accepted, rejected atomic.Int64
	for i := range agents {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			var offers struct {
				Items []struct {
					ID     string `json:"id"`
					CaseID string `json:"case_id"`
				} `json:"items"`
			}
			for ctx.Err() == nil {
				n := nodes[rng.IntN(2)]
				offers.Items = nil
				if s := n.quiet("GET", "/api/v1/offers", tokens[i], nil, &offers); s != 200 {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				for _, o := range offers.Items {
					n := nodes[rng.IntN(2)]
					if rng.IntN(10) == 0 {
						if n.quiet("POST", "/api/v1/offers/"+o.ID+"/reject", tokens[i], nil, nil) == 204 {
							rejected.Add(1)
						}
						continue
					}
					if n.quiet("POST", "/api/v1/offers/"+o.ID+"/accept", tokens[i], nil, nil) != 200 {
						continue
					}
					accepted.Add(1)
					go func(caseID string, hold time.Duration, n *process) {
						time.Sleep(hold)
						var pr struct{ Detail string }
						if s := n.quiet("PATCH", "/api/v1/cases/"+caseID, tokens[i], map[string]string{"status": "resolved"}, &pr); s != 200 && ctx.Err() == nil {
							t.Errorf("resolve: %d %s", s, pr.Detail)
						}
					}(o.CaseID, time.Duration(rng.IntN(30))*time.Millisecond, nodes[rng.IntN(2)])
				}
				time.Sleep(10 * time.Millisecond)
			}
		}(i)
	}
	// 5,000 cases, on both nodes at once.
	start := time.Now()
	var sent atomic.Int64
	var senders sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for c := range 16 {
		senders.Add(1)
		go func(c int) {
			defer senders.Done()
			for {
				k := sent.Add(1)
				if k > total {
					return
				}
				body := fmt.Sprintf(`{"id":"m-%d","thread":{"id":"t-%d"},"author":{"id":"c-%d"},"text":"case %d"}`, k, k, k, k)
				req, _ := http.NewRequest("POST", nodes[c%2].url+"/api/v1/byoc/"+pocID+"/messages", bytes.NewBufferString(body))
				req.Header.Set("Authorization", "Bearer "+pocToken)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("inbound: %v", err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					t.Errorf("inbound: %d", resp.StatusCode)
					return
				}
			}
		}(c)
	}
	senders.Wait()
	ingested := time.Since(start)
	deadline := time.Now().Add(4 * time.Minute)
	for accepted.Load() < total && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(100 * time.Millisecond)
	}
	routedIn := time.Since(start)
	stop()
	wg.Wait()

	var cases, acceptedOnce, acceptedTwice, overlapping int
	q := func(query string, dst *int) {
		if err := db.QueryRowContext(context.Background(), query).Scan(dst); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT COUNT(*) FROM cases`, &cases)
	q(`SELECT COUNT(*) FROM (SELECT case_id FROM offers WHERE status = 'accepted' GROUP BY case_id HAVING COUNT(*) = 1) x`, &acceptedOnce)
	q(`SELECT COUNT(*) FROM (SELECT case_id FROM offers WHERE status = 'accepted' GROUP BY case_id HAVING COUNT(*) > 1) x`, &acceptedTwice)
	// Offers of one case whose lifetimes overlap: a double offer.
	q(`SELECT COUNT(*) FROM offers o1 JOIN offers o2 ON o1.case_id = o2.case_id AND o1.id < o2.id
		AND o2.offered_at < COALESCE(o1.answered_at, o1.expires_at) AND o1.offered_at < COALESCE(o2.answered_at, o2.expires_at)`, &overlapping)
	if overlapping > 0 {
		rows, err := db.QueryContext(context.Background(), `SELECT o1.status, o1.user_id, o1.offered_at, o1.expires_at, o1.answered_at, o2.status, o2.user_id, o2.offered_at, o2.expires_at, o2.answered_at
			FROM offers o1 JOIN offers o2 ON o1.case_id = o2.case_id AND o1.id < o2.id
			AND o2.offered_at < COALESCE(o1.answered_at, o1.expires_at) AND o1.offered_at < COALESCE(o2.answered_at, o2.expires_at) LIMIT 3`)
		if err == nil {
			for rows.Next() {
				var s1, u1, s2, u2 string
				var a1, e1, a2, e2 int64
				var n1, n2 *int64
				rows.Scan(&s1, &u1, &a1, &e1, &n1, &s2, &u2, &a2, &e2, &n2)
				t.Logf("overlap: %s %s %d %d %v | %s %s %d %d %v", s1, u1, a1, e1, deref(n1), s2, u2, a2, e2, deref(n2))
			}
			rows.Close()
		}
	}
	t.Logf("two nodes on PostgreSQL: %d cases ingested in %s, all accepted after %s; %d accepted, %d rejected; %d checker passes",
		cases, ingested.Round(time.Millisecond), routedIn.Round(time.Millisecond), accepted.Load(), rejected.Load(), checks.Load())
	t.Logf("double offers: %d live + %d overlapping; capacity violations: %d; cases accepted twice: %d", doubleOffers.Load(), overlapping, overCapacity.Load(), acceptedTwice)
	if cases != total || acceptedOnce != total {
		t.Errorf("%d cases, %d accepted exactly once; want %d", cases, acceptedOnce, total)
	}
	if doubleOffers.Load() != 0 || overlapping != 0 || overCapacity.Load() != 0 || acceptedTwice != 0 {
		t.Errorf("want zero double offers and capacity violations")
	}
}

// quiet is call without failing the test on a network error (the agents
// keep going while the test ends).
func (p *process) quiet(method, path, token string, body any, out any) int {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(raw, out)
	}
	return resp.StatusCode
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
