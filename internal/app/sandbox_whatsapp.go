package app

import "context"

// startWhatsAppSandbox wires the WhatsApp fake into the sandbox (added with
// the WhatsApp adapter).
func (a *App) startWhatsAppSandbox(ctx context.Context, add func(typ, name string, settings map[string]any, creds map[string]string, platform sandboxPlatform) error) error {
	return nil
}
