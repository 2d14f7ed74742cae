package app

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyhq/parley/internal/channel/whatsapp"
	wfake "github.com/parleyhq/parley/internal/channel/whatsapp/fake"
	"github.com/parleyhq/parley/internal/secret"
)

// whatsappSandbox is the fake WhatsApp Cloud API in the sandbox.
type whatsappSandbox struct{ fk *wfake.Server }

func (s *whatsappSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	c := wfake.Customer{WaID: from, Name: name}
	payload := s.fk.Business().Webhook(wfake.Text(c, wfake.NewWAMID(), text, at))
	if choiceID != "" {
		payload = s.fk.Business().Webhook(wfake.ListReply(c, wfake.NewWAMID(), "", choiceID, text, "", at))
	}
	return postSigned(webhookURL, secret, payload)
}

func (s *whatsappSandbox) received(to string) []json.RawMessage {
	var out []json.RawMessage
	for _, r := range s.fk.Messages() {
		var body struct {
			To string `json:"to"`
		}
		if json.Unmarshal(r.JSON, &body) == nil && body.To == to {
			out = append(out, r.JSON)
		}
	}
	return out
}

func (s *whatsappSandbox) close() error { return s.fk.Close() }

// startWhatsAppSandbox starts the fake Cloud API, with one approved
// template, and its demo point of contact.
func (a *App) startWhatsAppSandbox(ctx context.Context, add func(typ, name string, settings map[string]any, creds map[string]string, platform sandboxPlatform) error) error {
	token := secret.RandomToken("sandbox_")
	fk, err := wfake.Start(wfake.Options{PhoneNumberID: "106540352242922", DisplayPhoneNumber: "15550001111", WABAID: "102290129340398", AccessToken: token})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	fk.AddTemplate(wfake.Template{ID: "1", Name: "order_update", Language: "en_US", Category: "UTILITY", Status: "APPROVED",
		Components: json.RawMessage(`[{"type":"BODY","text":"Hello {{1}}, your order {{2}} has shipped."}]`)})
	o := fk.Options()
	return add(whatsapp.Type, "Demo WhatsApp (sandbox)",
		map[string]any{"phone_number_id": o.PhoneNumberID, "waba_id": o.WABAID, "display_phone_number": o.DisplayPhoneNumber, "api_base_url": fk.URL},
		map[string]string{"access_token": token, "app_secret": secret.RandomToken("sandbox_")}, &whatsappSandbox{fk: fk})
}
