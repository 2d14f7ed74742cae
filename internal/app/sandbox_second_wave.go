package app

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/channel/apple"
	applefake "github.com/parleyhq/parley/internal/channel/apple/fake"
	"github.com/parleyhq/parley/internal/channel/gbm"
	gbmfake "github.com/parleyhq/parley/internal/channel/gbm/fake"
	"github.com/parleyhq/parley/internal/channel/line"
	linefake "github.com/parleyhq/parley/internal/channel/line/fake"
	"github.com/parleyhq/parley/internal/channel/slack"
	slackfake "github.com/parleyhq/parley/internal/channel/slack/fake"
	"github.com/parleyhq/parley/internal/channel/teams"
	teamsfake "github.com/parleyhq/parley/internal/channel/teams/fake"
	"github.com/parleyhq/parley/internal/channel/telegram"
	tgfake "github.com/parleyhq/parley/internal/channel/telegram/fake"
	"github.com/parleyhq/parley/internal/channel/viber"
	viberfake "github.com/parleyhq/parley/internal/channel/viber/fake"
	"github.com/parleyhq/parley/internal/channel/xdm"
	xfake "github.com/parleyhq/parley/internal/channel/xdm/fake"
	"github.com/parleyhq/parley/internal/secret"
)

// The sandbox's second wave: Telegram, Viber, Slack, Microsoft Teams, X DMs,
// Google Business Messages, LINE and Apple Messages for Business, each on
// its package's local fake, played through POST /sandbox/{channel}/customer
// and GET /sandbox/{channel}/phone like the first channels.

// sandboxAdd creates (or, on a restarted demo, rewires) a sandbox point of
// contact: startSandbox's add.
type sandboxAdd = func(typ, name string, settings map[string]any, creds map[string]string, platform sandboxPlatform) error

// startSecondWaveSandboxes starts the second wave's fakes and their demo
// points of contact. Every fake is closed with the app.
func (a *App) startSecondWaveSandboxes(ctx context.Context, add sandboxAdd) error {
	for _, start := range []func(context.Context, sandboxAdd) error{
		a.startTelegramSandbox, a.startViberSandbox, a.startSlackSandbox,
		a.startTeamsSandbox, a.startXDMSandbox, a.startGBMSandbox,
		a.startLINESandbox, a.startAppleSandbox,
	} {
		if err := start(ctx, add); err != nil {
			return err
		}
	}
	return nil
}

// sandboxAnswer reads Parley's answer to a webhook a fake posted.
func sandboxAnswer(resp *http.Response, err error) (int, string, error) {
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, strings.TrimSpace(string(body)), nil
}

// sandboxNumericID is a sandbox customer's id on a platform whose user ids
// are numbers (Telegram, X): from itself when it is one, else a stable
// number derived from it, so "alice" is always the same customer, across
// restarts too.
func sandboxNumericID(from string) string {
	from = strings.TrimSpace(from)
	if n, err := strconv.ParseUint(from, 10, 64); err == nil && n > 0 && n < 1<<53 && from[0] != '0' {
		return from
	}
	h := fnv.New64a()
	h.Write([]byte(from))
	return strconv.FormatUint(1_000_000_000+h.Sum64()%(1<<40), 10)
}

// sandboxSafeID is a sandbox customer's id where the platform's ids are
// restricted to A–Z, a–z, 0–9, '_', '.' and '-' (a Business Messages
// conversation id): from itself when it fits, else a stable id derived
// from it.
func sandboxSafeID(from string) string {
	ok := from != "" && len(from) <= 128
	for _, r := range from {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			ok = false
			break
		}
	}
	if ok {
		return from
	}
	h := fnv.New64a()
	h.Write([]byte(from))
	return fmt.Sprintf("sandbox-%016x", h.Sum64())
}

// displayName is the name a customer shows: the given one, else the
// sandbox id they were played with (when it is not already their id).
func displayName(name, from, id string) string {
	if name == "" && from != id {
		return from
	}
	return name
}

// telegramSandbox is the fake Telegram Bot API.
type telegramSandbox struct{ fk *tgfake.Server }

func (s *telegramSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	id := sandboxNumericID(from)
	name = displayName(name, from, id)
	if choiceID != "" {
		return sandboxAnswer(s.fk.CustomerTaps(webhookURL, secret, id, name, choiceID, at))
	}
	return sandboxAnswer(s.fk.CustomerSays(webhookURL, secret, id, name, text, at))
}

func (s *telegramSandbox) received(to string) []json.RawMessage {
	return s.fk.Received(sandboxNumericID(to))
}

func (s *telegramSandbox) close() error { return s.fk.Close() }

func (a *App) startTelegramSandbox(_ context.Context, add sandboxAdd) error {
	token := "7000000001:" + secret.RandomToken("")
	fk, err := tgfake.Start(tgfake.Options{Token: token, BotName: "Parley Demo", BotUsername: "parley_demo_bot", LocalWebhooks: true, Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	// The secret token is given rather than generated: the sandbox signs
	// with the credentials it passes.
	return add(telegram.Type, "Demo Telegram (sandbox)", map[string]any{telegram.SettingAPIBaseURL: fk.URL},
		map[string]string{telegram.CredentialBotToken: token, telegram.CredentialSecretToken: secret.RandomToken("sandbox_")},
		&telegramSandbox{fk: fk})
}

// viberSandbox is the fake Viber REST bot API.
type viberSandbox struct{ fk *viberfake.Server }

func (s *viberSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	return s.fk.DeliverSigned(webhookURL, secret, from, name, text, choiceID, at)
}

func (s *viberSandbox) received(to string) []json.RawMessage { return s.fk.Received(to) }

func (s *viberSandbox) close() error { return s.fk.Close() }

func (a *App) startViberSandbox(_ context.Context, add sandboxAdd) error {
	token := secret.RandomToken("sandbox_")
	fk, err := viberfake.Start(viberfake.Options{AuthToken: token, Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	return add(viber.Type, "Demo Viber (sandbox)", map[string]any{viber.SettingAPIBaseURL: fk.URL(), viber.SettingSenderName: "Parley Demo"},
		map[string]string{viber.CredentialAuthToken: token}, &viberSandbox{fk: fk})
}

// slackSandbox is the fake Slack Web API; a customer is a user writing in
// their DM with the app.
type slackSandbox struct{ fk *slackfake.Server }

func (s *slackSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	return sandboxAnswer(s.fk.Deliver(webhookURL, secret, from, name, text, choiceID, at))
}

func (s *slackSandbox) received(to string) []json.RawMessage { return s.fk.Received(to) }

func (s *slackSandbox) close() error { return s.fk.Close() }

func (a *App) startSlackSandbox(_ context.Context, add sandboxAdd) error {
	token, signing := secret.RandomToken("xoxb-"), secret.RandomToken("sandbox_")
	fk, err := slackfake.Start(slackfake.Options{BotToken: token, SigningSecret: signing, Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	return add(slack.Type, "Demo Slack (sandbox)", map[string]any{slack.SettingAPIBaseURL: fk.URL(), slack.SettingBotUserID: fk.Options().BotUserID},
		map[string]string{slack.CredentialBotToken: token, slack.CredentialSigningSecret: signing}, &slackSandbox{fk: fk})
}

// teamsSandbox is the fake Bot Framework: it signs its activities with its
// own key (a JWT checked against its OpenID metadata), not a shared secret.
type teamsSandbox struct{ fk *teamsfake.Server }

func (s *teamsSandbox) deliver(webhookURL, _, from, name, text, choiceID string, at time.Time) (int, string, error) {
	return s.fk.Deliver(webhookURL, from, name, text, choiceID, at)
}

func (s *teamsSandbox) received(to string) []json.RawMessage { return s.fk.Received(to) }

func (s *teamsSandbox) close() error { return s.fk.Close() }

func (a *App) startTeamsSandbox(_ context.Context, add sandboxAdd) error {
	fk, err := teamsfake.Start(teamsfake.Options{AppPassword: secret.RandomToken("sandbox_"), BotName: "Parley Demo", Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	return add(teams.Type, "Demo Microsoft Teams (sandbox)", fk.Settings(), fk.Credentials(), &teamsSandbox{fk: fk})
}

// xdmSandbox is the fake X API. X DMs have no buttons: a tap is the
// customer typing the option (its label, or its id when that is all the
// sandbox was given), which Parley resolves like any typed answer.
type xdmSandbox struct{ fk *xfake.Server }

func (s *xdmSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	if text == "" {
		text = choiceID
	}
	id := sandboxNumericID(from)
	return sandboxAnswer(s.fk.CustomerSays(webhookURL, secret, id, displayName(name, from, id), text, at))
}

func (s *xdmSandbox) received(to string) []json.RawMessage {
	return s.fk.Received(sandboxNumericID(to))
}

func (s *xdmSandbox) close() error { return s.fk.Close() }

func (a *App) startXDMSandbox(_ context.Context, add sandboxAdd) error {
	token, consumer := secret.RandomToken("sandbox_"), secret.RandomToken("sandbox_")
	fk, err := xfake.Start(xfake.Options{AccessToken: token, ConsumerSecret: consumer, Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	return add(xdm.Type, "Demo X DMs (sandbox)", map[string]any{xdm.SettingAPIBaseURL: fk.URL(), xdm.SettingUserID: fk.Options().UserID},
		map[string]string{xdm.CredentialConsumerSecret: consumer, xdm.CredentialAccessToken: token}, &xdmSandbox{fk: fk})
}

// gbmSandbox is the fake Business Messages API; a customer is a
// conversation.
type gbmSandbox struct{ fk *gbmfake.Server }

func (s *gbmSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	conv := sandboxSafeID(from)
	name = displayName(name, from, conv)
	if choiceID != "" {
		// The tap answers the agent's latest message in the conversation.
		inReplyTo := ""
		for _, m := range s.fk.Messages() {
			if m.ConversationID == conv {
				inReplyTo = m.MessageID
			}
		}
		return sandboxAnswer(s.fk.CustomerTaps(webhookURL, secret, conv, name, choiceID, text, inReplyTo, at))
	}
	return sandboxAnswer(s.fk.CustomerSays(webhookURL, secret, conv, name, text, at))
}

func (s *gbmSandbox) received(to string) []json.RawMessage { return s.fk.Received(sandboxSafeID(to)) }

func (s *gbmSandbox) close() error { return s.fk.Close() }

func (a *App) startGBMSandbox(_ context.Context, add sandboxAdd) error {
	token, client := secret.RandomToken("sandbox_"), secret.RandomToken("sandbox_")
	fk, err := gbmfake.Start(gbmfake.Options{AccessToken: token, ClientToken: client, Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	return add(gbm.Type, "Demo Google Business Messages (sandbox)", map[string]any{gbm.SettingAPIBaseURL: fk.URL(), gbm.SettingAgentID: fk.Agent()},
		map[string]string{gbm.CredentialClientToken: client, gbm.CredentialAccessToken: token}, &gbmSandbox{fk: fk})
}

// lineSandbox is the fake LINE Messaging API.
type lineSandbox struct{ fk *linefake.Server }

func (s *lineSandbox) deliver(webhookURL, secret, from, name, text, choiceID string, at time.Time) (int, string, error) {
	return s.fk.DeliverSigned(webhookURL, secret, from, name, text, choiceID, at)
}

func (s *lineSandbox) received(to string) []json.RawMessage { return s.fk.Received(to) }

func (s *lineSandbox) close() error { return s.fk.Close() }

func (a *App) startLINESandbox(_ context.Context, add sandboxAdd) error {
	token, channelSecret := secret.RandomToken("sandbox_"), secret.RandomToken("sandbox_")
	fk, err := linefake.Start(linefake.Options{ChannelAccessToken: token, ChannelSecret: channelSecret, Now: a.cfg.Now})
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	return add(line.Type, "Demo LINE (sandbox)", map[string]any{line.SettingAPIBaseURL: fk.URL(), line.SettingAPIDataBaseURL: fk.URL()},
		map[string]string{line.CredentialChannelAccessToken: token, line.CredentialChannelSecret: channelSecret}, &lineSandbox{fk: fk})
}

// appleSandbox is the fake Apple Messages for Business MSP gateway: it signs
// its deliveries with the MSP credentials it was started with.
type appleSandbox struct{ fk *applefake.Server }

func (s *appleSandbox) deliver(webhookURL, _, from, _, text, choiceID string, _ time.Time) (int, string, error) {
	if choiceID != "" {
		return s.fk.Tap(webhookURL, from, choiceID)
	}
	return s.fk.Say(webhookURL, from, text)
}

func (s *appleSandbox) received(to string) []json.RawMessage { return s.fk.Received(to) }

func (s *appleSandbox) close() error { return s.fk.Close() }

func (a *App) startAppleSandbox(_ context.Context, add sandboxAdd) error {
	fk, err := applefake.Start(applefake.Options{Now: a.cfg.Now}) // a fresh random MSP secret each run
	if err != nil {
		return err
	}
	a.closer = append(a.closer, fk.Close)
	o := fk.Options()
	return add(apple.Type, "Demo Apple Messages (sandbox)", map[string]any{apple.SettingAPIBaseURL: fk.URL(), apple.SettingBusinessID: o.BusinessID},
		map[string]string{apple.CredentialMSPID: o.MSPID, apple.CredentialMSPSecret: o.Secret}, &appleSandbox{fk: fk})
}
