package ui

// Admin configuration pages: point-of-contact editing, message templates,
// scripts, automation rules. Every route is for administrators, as the
// API's configuration endpoints are (its read-only script and rule
// endpoints also admit supervisors; these pages edit, so they do not).
func (h *Handler) configRoutes(handle route) {
	handle("GET /admin/points/{id}", h.admin(h.pointEditPage))
	handle("POST /admin/points/{id}", h.admin(h.updatePointForm))
	handle("POST /admin/points/{id}/register-webhook", h.admin(h.registerPointWebhook))

	handle("GET /admin/templates", h.admin(h.templatesOverview))
	handle("GET /admin/points/{id}/templates", h.admin(h.pointTemplatesPage))
	handle("POST /admin/points/{id}/templates/sync", h.admin(h.syncPointTemplates))

	handle("GET /admin/scripts", h.admin(h.scriptsPage))
	handle("POST /admin/scripts", h.admin(h.createScript))
	handle("GET /admin/scripts/{id}", h.admin(h.scriptPage))
	handle("POST /admin/scripts/{id}", h.admin(h.saveScript))
	handle("POST /admin/scripts/{id}/test", h.admin(h.testScript))
	handle("POST /admin/scripts/{id}/delete", h.admin(h.deleteScript))
	handle("GET /admin/scripts/{id}/versions/{n}", h.admin(h.scriptVersionPage))

	handle("GET /admin/automation", h.admin(h.rulesPage))
	handle("GET /admin/automation/new", h.admin(h.newRulePage))
	handle("POST /admin/automation", h.admin(h.createRule))
	handle("GET /admin/automation/{id}", h.admin(h.rulePage))
	handle("POST /admin/automation/{id}", h.admin(h.updateRule))
	handle("POST /admin/automation/{id}/enable", h.admin(h.enableRule))
	handle("POST /admin/automation/{id}/disable", h.admin(h.disableRule))
	handle("POST /admin/automation/{id}/delete", h.admin(h.deleteRule))
}
