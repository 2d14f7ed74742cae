package app

import (
	"testing"
)

// TestStartConversationOnBYOC: BYOC allows business-initiated
// conversations; the case starts pending, owned by the agent.
func TestStartConversationOnBYOC(t *testing.T) {
	h, mw, p := startWithMiddleware(t, nil)
	var out struct {
		Case struct {
			ID, Status  string
			OwnerID     *string `json:"owner_id"`
			ReplyWindow any     `json:"reply_window"`
		}
		Message struct{ ID string }
	}
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/conversations", h.admin, map[string]any{"to": map[string]string{"id": "cust-9", "name": "Zoe"}, "text": "Your order shipped"}, 202, &out)
	if out.Case.Status != "pending" || out.Case.OwnerID == nil || out.Case.ReplyWindow != nil {
		t.Fatalf("case: %+v", out.Case)
	}
	eventually(t, "delivered to the middleware", func() bool { return len(mw.Received()) == 1 })
	if cb := mw.Received()[0]; cb.Recipient.ID != "cust-9" || cb.Thread.ID != "cust-9" {
		t.Fatalf("callback: %+v", cb)
	}
	// The customer answers: same thread, same case, reopened.
	res := h.inbound(p, "m1", "cust-9", "cust-9", "thanks!")
	if res.CaseID != out.Case.ID || h.getCase(res.CaseID).Status != "open" {
		t.Fatalf("answer went to %s (%s)", res.CaseID, h.getCase(res.CaseID).Status)
	}
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/conversations", h.admin, map[string]any{"to": map[string]string{"id": ""}, "text": "x"}, 400, nil)
	h.mustDo("POST", "/api/v1/points-of-contact/"+p.ID+"/templates/sync", h.admin, nil, 422, nil) // BYOC has no templates
}
