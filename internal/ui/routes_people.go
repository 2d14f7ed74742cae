package ui

// Customer card editing, duplicates and merge; supervisor changes to agents.
func (h *Handler) peopleRoutes(handle route) {}
