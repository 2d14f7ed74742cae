package ui

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/parleyhq/parley/internal/routing"
)

// Supervisor changes to agents, from the supervision page, each with the
// rule of the matching API endpoint:
//   - presence: supervisors and admins (PUT /api/v1/agents/{id}/state lets
//     them change anyone's);
//   - capacity and skills: admins only (PUT /api/v1/agents/{id}/capacity
//     and /skills);
//   - moving a case to an agent or a skill's queue: routing's Transfer, as
//     POST /api/v1/cases/{id}/transfer, after the same visibility check.

// manageForm is the opened agent's forms: what the agent has, or what the
// supervisor typed when a change was refused.
type manageForm struct {
	State, Reason string
	Capacity      []capacityInput
	Skills        []skillInput
}

type capacityInput struct{ Class, Value string }

type skillInput struct {
	ID, Name    string
	Has         bool
	Proficiency string
}

// capacityClasses are the capacity form's inputs, in the board's order.
var capacityClasses = []string{"chat", "messaging", "email", "social", "total"}

func manageFormOf(a *agentView, skills []routing.Skill) *manageForm {
	m := &manageForm{State: a.State, Reason: a.AwayReason}
	for _, l := range a.Loads {
		m.Capacity = append(m.Capacity, capacityInput{Class: l.Class, Value: strconv.Itoa(l.Limit)})
	}
	has := map[string]int{}
	for _, s := range a.Skills {
		has[s.SkillID] = s.Proficiency
	}
	for _, s := range skills {
		in := skillInput{ID: s.ID, Name: s.Name, Proficiency: "5"}
		if p, ok := has[s.ID]; ok {
			in.Has, in.Proficiency = true, strconv.Itoa(p)
		}
		m.Skills = append(m.Skills, in)
	}
	return m
}

// apply puts back what was posted, for the part of the panel posted.
func (m *manageForm) apply(posted *manageForm) {
	if posted.State != "" {
		m.State, m.Reason = posted.State, posted.Reason
	}
	if posted.Capacity != nil {
		m.Capacity = posted.Capacity
	}
	if posted.Skills != nil {
		for i := range m.Skills {
			for _, p := range posted.Skills {
				if p.ID == m.Skills[i].ID {
					m.Skills[i].Has, m.Skills[i].Proficiency = p.Has, p.Proficiency
				}
			}
		}
	}
}

// moveForm moves a case to an agent or a queue.
type moveForm struct {
	Case   caseRow
	Agents []agentView
	Skills []routing.Skill
	To     string // "user:<id>" or "skill:<id>"
}

// supervisorSaved redirects back to the supervision page with what was
// saved (for its notice).
func (h *Handler) supervisorSaved(w http.ResponseWriter, r *http.Request, sel supSelection, what string) {
	q := sel.query(false)
	if q == "" {
		q = "?saved=" + what
	} else {
		q += "&saved=" + what
	}
	http.Redirect(w, r, h.p("supervisor")+q, http.StatusSeeOther)
}

// refuseOnBoard shows the supervision page again with the error a change
// met and the input that caused it; a missing agent or case gets the
// error page.
func (h *Handler) refuseOnBoard(w http.ResponseWriter, r *http.Request, e *env, sel supSelection, err error, o supOptions) {
	status, key, detail := h.failure(r, err)
	if errors.Is(err, routing.ErrNoCapacity) {
		key = "people.error.no_capacity"
	}
	if status == http.StatusNotFound || status == http.StatusInternalServerError {
		h.renderError(w, r, e, status, key, detail)
		return
	}
	o.errors, o.errKey, o.detail = boardFieldErrors(err, o.manage), key, detail
	h.showSupervisor(w, r, e, status, sel, o)
}

// boardFieldErrors names the input a routing validation error is about.
func boardFieldErrors(err error, posted *manageForm) map[string]string {
	var ve *routing.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	f := ve.Field
	switch {
	case strings.HasPrefix(f, "capacity."):
		return map[string]string{f: "people.invalid.capacity"}
	case f == "state", f == "away_reason":
		return map[string]string{f: "people.invalid." + f}
	case strings.HasPrefix(f, "skills["):
		// skills[2].proficiency: the third skill posted.
		i, err := strconv.Atoi(strings.TrimPrefix(f[:strings.IndexByte(f, ']')], "skills["))
		if err == nil && posted != nil {
			n := 0
			for _, s := range posted.Skills {
				if !s.Has {
					continue
				}
				if n == i {
					return map[string]string{"proficiency:" + s.ID: "people.invalid.proficiency"}
				}
				n++
			}
		}
	case f == "skill_id", f == "to", f == "case":
		return map[string]string{"to": "people.invalid.to"}
	}
	return nil
}

// setAgentState changes an agent's presence (going offline returns their
// active cases to the queues, as routing does for the API).
func (h *Handler) setAgentState(w http.ResponseWriter, r *http.Request, e *env) {
	id := r.PathValue("id")
	sel := supSelection{Agent: id}
	state, reason := r.FormValue("state"), r.FormValue("away_reason")
	if _, err := h.d.Router.SetState(r.Context(), e.u.WorkspaceID, e.u.ID, id, state, reason); err != nil {
		h.refuseOnBoard(w, r, e, sel, err, supOptions{manage: &manageForm{State: state, Reason: reason}})
		return
	}
	h.supervisorSaved(w, r, sel, "state")
}

// setAgentCapacity changes an agent's capacity per channel class and in
// total (admins only: the route is wrapped by h.admin).
func (h *Handler) setAgentCapacity(w http.ResponseWriter, r *http.Request, e *env) {
	id := r.PathValue("id")
	sel := supSelection{Agent: id}
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	posted := &manageForm{}
	var c routing.Capacity
	var err error
	for _, class := range capacityClasses {
		v := strings.TrimSpace(r.PostForm.Get("capacity." + class))
		posted.Capacity = append(posted.Capacity, capacityInput{Class: class, Value: v})
		n, perr := strconv.Atoi(v)
		if perr != nil && err == nil {
			err = &routing.ValidationError{Field: "capacity." + class, Reason: "a whole number from 0 to 1000"}
		}
		switch class {
		case "chat":
			c.Chat = n
		case "messaging":
			c.Messaging = n
		case "email":
			c.Email = n
		case "social":
			c.Social = n
		case "total":
			c.Total = n
		}
	}
	if err == nil {
		_, err = h.d.Router.SetCapacity(r.Context(), e.u.WorkspaceID, e.u.ID, id, c)
	}
	if err != nil {
		h.refuseOnBoard(w, r, e, sel, err, supOptions{manage: posted})
		return
	}
	h.supervisorSaved(w, r, sel, "capacity")
}

// setAgentSkills replaces an agent's skills and proficiencies (1 to 10;
// admins only: the route is wrapped by h.admin).
func (h *Handler) setAgentSkills(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	id := r.PathValue("id")
	sel := supSelection{Agent: id}
	if err := r.ParseForm(); err != nil {
		h.renderError(w, r, e, http.StatusBadRequest, "error.invalid", "")
		return
	}
	skills, err := h.d.Skills.List(ctx, e.u.WorkspaceID)
	if err != nil {
		h.fail(w, r, e, err)
		return
	}
	chosen := map[string]bool{}
	for _, s := range r.PostForm["skill"] {
		chosen[s] = true
	}
	posted := &manageForm{Skills: []skillInput{}}
	list := []routing.AgentSkill{}
	for _, s := range skills {
		in := skillInput{ID: s.ID, Name: s.Name, Has: chosen[s.ID], Proficiency: strings.TrimSpace(r.PostForm.Get("proficiency:" + s.ID))}
		posted.Skills = append(posted.Skills, in)
		if !in.Has {
			continue
		}
		n, perr := strconv.Atoi(in.Proficiency)
		if (perr != nil || n < 1 || n > 10) && err == nil {
			// Named as routing names it; routing would take 0 for "5".
			err = &routing.ValidationError{Field: "skills[" + strconv.Itoa(len(list)) + "].proficiency", Reason: "1 to 10"}
		}
		list = append(list, routing.AgentSkill{SkillID: s.ID, Proficiency: n})
	}
	if err == nil {
		_, err = h.d.Router.SetSkills(ctx, e.u.WorkspaceID, e.u.ID, id, list)
	}
	if err != nil {
		h.refuseOnBoard(w, r, e, sel, err, supOptions{manage: posted})
		return
	}
	h.supervisorSaved(w, r, sel, "skills")
}

// moveCase gives a case to another agent (who must be available with room
// for its channel) or puts it back in a skill's queue.
func (h *Handler) moveCase(w http.ResponseWriter, r *http.Request, e *env) {
	ctx := r.Context()
	id := r.PathValue("id")
	sel := supSelection{Agent: strings.TrimSpace(r.FormValue("agent")), Queue: strings.TrimSpace(r.FormValue("queue")), Move: id}
	if _, err := h.d.Inbox.GetCase(ctx, e.u, id); err != nil {
		h.fail(w, r, e, err)
		return
	}
	to := r.FormValue("to")
	kind, target, _ := strings.Cut(to, ":")
	var err error
	var skill, user string
	switch {
	case kind == "skill" && target != "":
		skill = target
	case kind == "user" && target != "":
		user = target
	default:
		err = &routing.ValidationError{Field: "to", Reason: "choose an agent or a queue"}
	}
	if err == nil {
		err = h.d.Router.Transfer(ctx, e.u.WorkspaceID, e.u.ID, id, skill, user)
	}
	if err != nil {
		h.refuseOnBoard(w, r, e, sel, err, supOptions{moveTo: to})
		return
	}
	sel.Move = ""
	h.supervisorSaved(w, r, sel, "moved")
}
