package routing

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestOfferTimeoutRejectPullTransferAndOffline(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	billing := f.skill("billing", 0, 60, 0, 30)
	support := f.skill("support", 0, 60, 0, 30)
	f.agent("ann", Capacity{Chat: 1, Messaging: 2, Email: 2, Social: 1, Total: 2}, map[string]int{billing: 9})
	f.agent("bob", Capacity{Chat: 1, Messaging: 2, Email: 2, Social: 1, Total: 2}, map[string]int{billing: 3, support: 5})

	first := f.queueCase(billing, ClassMessaging, 0)
	f.clk.Advance(time.Second)
	urgent := f.queueCase(billing, ClassMessaging, 10)
	if n, err := f.r.Route(ctx, f.ws); err != nil || n != 2 {
		t.Fatalf("route: %d offers, %v", n, err)
	}
	offers := pendingOffers(t, f)
	byCase := map[string]Offer{}
	for _, o := range offers {
		byCase[o.CaseID] = o
	}
	// Equal room and idle time: the urgent case goes first, to the more
	// proficient agent.
	if byCase[urgent].UserID != "ann" || byCase[first].UserID != "bob" {
		t.Fatalf("offers %+v", offers)
	}
	// Bob lets his offer time out: it goes to Ann, who has room left.
	f.clk.Advance(31 * time.Second)
	if _, err := f.r.Accept(ctx, f.ws, "bob", byCase[first].ID); !errors.Is(err, ErrOfferGone) {
		t.Fatalf("accepting an expired offer: %v", err)
	}
	if _, err := f.r.Accept(ctx, f.ws, "ann", byCase[urgent].ID); !errors.Is(err, ErrOfferGone) {
		t.Fatalf("ann's offer expired too: %v", err)
	}
	if _, err := f.r.Route(ctx, f.ws); err != nil {
		t.Fatal(err)
	}
	offers = pendingOffers(t, f)
	if len(offers) != 2 {
		t.Fatalf("re-offered: %+v", offers)
	}
	for _, o := range offers {
		// Each goes to the agent who did not let it lapse.
		if (o.CaseID == first && o.UserID != "ann") || (o.CaseID == urgent && o.UserID != "bob") {
			t.Fatalf("re-offer went back to the agent who let it lapse: %+v", o)
		}
		if o.CaseID == urgent {
			if err := f.r.Reject(ctx, f.ws, o.UserID, o.ID); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.r.Accept(ctx, f.ws, o.UserID, o.ID); err != nil {
			t.Fatal(err)
		}
	}
	// Pull: Bob asks for the next case and gets the urgent one at once.
	got, err := f.r.RequestNext(ctx, f.ws, "bob")
	if err != nil || got != urgent {
		t.Fatalf("pull: %q, %v", got, err)
	}
	if _, err := f.r.RequestNext(ctx, f.ws, "bob"); !errors.Is(err, ErrQueueEmpty) {
		t.Fatalf("empty queue: %v", err)
	}
	// Transfer the urgent case to the support queue, then Ann goes
	// offline: her case returns to the billing queue, owner kept.
	if err := f.r.Transfer(ctx, f.ws, "sup", urgent, support, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.r.SetState(ctx, f.ws, "ann", "ann", StateOffline, ""); err != nil {
		t.Fatal(err)
	}
	var state string
	var assignee, owner *string
	if err := f.db.QueryRowContext(ctx, `SELECT routing_state, assignee_id, owner_id FROM cases WHERE id = ?`, first).Scan(&state, &assignee, &owner); err != nil {
		t.Fatal(err)
	}
	if state != StateQueued || assignee != nil || owner == nil || *owner != "ann" {
		t.Fatalf("after offline: %s %v %v", state, assignee, owner)
	}
	qs, err := f.r.Queues(ctx, f.ws)
	if err != nil {
		t.Fatal(err)
	}
	waiting := map[string]int{}
	for _, q := range qs {
		waiting[q.SkillName] = q.Waiting
	}
	if waiting["billing"] != 1 || waiting["support"] != 1 {
		t.Fatalf("queues %+v", qs)
	}
	// Transfer to an agent needs room: Bob has 0 after the pull? He holds
	// nothing now (the urgent case moved), so he can take it.
	if err := f.r.Transfer(ctx, f.ws, "sup", first, "", "bob"); err != nil {
		t.Fatal(err)
	}
	a, err := f.r.Agent(ctx, f.ws, "bob")
	if err != nil || a.Load.Total != 1 || a.State != StateAvailable {
		t.Fatalf("bob: %+v %v", a, err)
	}
}
