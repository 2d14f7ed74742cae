package ui

// Admin configuration pages: point-of-contact editing, message templates, scripts, automation rules.
func (h *Handler) configRoutes(handle route) {}
