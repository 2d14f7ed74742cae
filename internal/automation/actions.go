package automation

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/parleyhq/parley/internal/netguard"
	"github.com/parleyhq/parley/internal/store"
)

// permanentError marks a failure that trying again cannot fix.
type permanentError struct{ err error }

func (p *permanentError) Error() string { return p.err.Error() }
func (p *permanentError) Unwrap() error { return p.err }

// Permanent marks an Applier or Notifier error as final: the action is
// not retried (the job's other actions still are).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, store.ErrNotFound)
}

// runAction performs one action of a job.
func (e *Engine) runAction(ctx context.Context, j *job, r *compiledRule, a Action, f *facts) error {
	ctx, cancel := context.WithTimeout(ctx, e.actionTimeout)
	defer cancel()
	ws, caseID := j.workspaceID, j.caseID
	switch a.Type {
	case ActionNotifyEmail:
		if e.notifier == nil {
			return Permanent(errors.New("automation: no Notifier is configured"))
		}
		return e.notifier.Notify(ctx, a.To, render(a.Subject, f, r, true), render(a.Body, f, r, false))
	case ActionCallURL:
		return e.callURL(ctx, j, r, a, f)
	}
	if e.applier == nil {
		return Permanent(errors.New("automation: no Applier is configured"))
	}
	switch a.Type {
	case ActionAddTag:
		return e.applier.AddTags(ctx, ws, caseID, a.Tags)
	case ActionRemoveTag:
		return e.applier.RemoveTags(ctx, ws, caseID, a.Tags)
	case ActionSetStatus:
		return e.applier.SetStatus(ctx, ws, caseID, a.Status)
	case ActionSetPriority:
		return e.applier.SetPriority(ctx, ws, caseID, *a.Priority)
	case ActionSetField:
		var v any
		if err := json.Unmarshal(a.Value, &v); err != nil {
			return Permanent(fmt.Errorf("set_field: value: %w", err))
		}
		return e.applier.SetField(ctx, ws, caseID, a.Field, v)
	case ActionReroute:
		return e.applier.Reroute(ctx, ws, caseID, a.SkillID)
	case ActionSendMessage:
		return e.applier.SendMessage(ctx, ws, caseID, render(a.Text, f, r, false), a.Content)
	}
	return Permanent(fmt.Errorf("automation: unknown action %q", a.Type))
}

// CallURLPayload is the JSON body call_url POSTs.
type CallURLPayload struct {
	// ID is the job's id: the same on every retry, so the receiver can
	// drop duplicates.
	ID   string `json:"id"`
	Rule struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"rule"`
	Event   Event        `json:"event"`
	Case    CaseView     `json:"case"`
	Message *MessageView `json:"message,omitempty"`
	SentAt  time.Time    `json:"sent_at"`
}

// SignatureHeader carries "sha256=" and the hex HMAC-SHA256 of the body
// under the rule's secret, when it has one.
const SignatureHeader = "X-Parley-Signature"

// Sign computes the SignatureHeader value for a body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (e *Engine) callURL(ctx context.Context, j *job, r *compiledRule, a Action, f *facts) error {
	p := CallURLPayload{ID: j.id, Event: j.event, Case: f.kase, SentAt: store.Time(store.Micros(e.now()))}
	p.Rule.ID, p.Rule.Name = r.ID, r.Name
	if f.message.ID != "" {
		p.Message = &f.message
	}
	body, err := json.Marshal(p)
	if err != nil {
		return Permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, callURLTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("call_url: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Parley-Automation/1")
	req.Header.Set("X-Parley-Event", j.event.Type)
	req.Header.Set("X-Parley-Delivery", j.id)
	if len(r.secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(r.secret, body))
	}
	resp, err := e.http.Do(req)
	if err != nil {
		if errors.Is(err, netguard.ErrForbiddenAddress) {
			return Permanent(fmt.Errorf("call_url: %w", err))
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in the rule; keep the reason short
		}
		return fmt.Errorf("call_url: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("call_url: the endpoint answered %d", code)
	default:
		return Permanent(fmt.Errorf("call_url: the endpoint answered %d", code))
	}
}
