package ui

// Agent pages: saved inbox filters, the composer's additions, the user's own settings.
func (h *Handler) agentRoutes(handle route) {
	// Saved views (inbox.SavedView), as /api/v1/saved-views.
	handle("GET /inbox/views", h.authed(h.savedViewsFragment))
	handle("POST /views", h.authed(h.createSavedView))
	handle("POST /views/{id}/delete", h.authed(h.deleteSavedView))

	// The composer: one send route for text, quick replies, templates and
	// files; the file input; the live preview.
	handle("POST /cases/{id}/send", h.authed(h.composerSend))
	handle("GET /cases/{id}/attachments", h.authed(h.attachmentsFragment))
	handle("POST /cases/{id}/preview", h.authed(h.composerPreview))

	// The signed-in user's own settings (language and presence post to
	// the existing /lang and /presence routes).
	handle("GET /settings", h.authed(h.settingsPage))
	handle("POST /settings/profile", h.authed(h.saveProfile))
	handle("POST /settings/password", h.authed(h.changePassword))
}
