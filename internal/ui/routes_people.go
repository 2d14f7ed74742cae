package ui

// Customer card editing, duplicates and merge; supervisor changes to agents.
// GET /contacts/{id} (registered with the case pages) renders the card
// through peopleContactPage.
func (h *Handler) peopleRoutes(handle route) {
	handle("POST /contacts/{id}", h.authed(h.updateContactCard))
	handle("GET /contacts/{id}/merge", h.authed(h.mergeConfirmPage))
	handle("POST /contacts/{id}/merge", h.authed(h.mergeContacts))

	handle("POST /supervisor/agents/{id}/state", h.supervisor(h.setAgentState))
	handle("POST /supervisor/agents/{id}/capacity", h.admin(h.setAgentCapacity))
	handle("POST /supervisor/agents/{id}/skills", h.admin(h.setAgentSkills))
	handle("POST /supervisor/cases/{id}/transfer", h.supervisor(h.moveCase))
}
