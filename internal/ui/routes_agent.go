package ui

// Agent pages: saved inbox filters, the composer's additions, the user's own settings.
func (h *Handler) agentRoutes(handle route) {}
