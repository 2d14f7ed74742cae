// Package instagram is the Instagram Direct adapter (CHANNELS.md §4). DMs
// use Messenger's protocol with "object":"instagram": the same handshake,
// signature, messaging items (plus story mentions, shares and
// messaging_seen read receipts) and Send API, so this is the messenger
// adapter with the Instagram flavor. Comments are not handled here.
//
// Sends go to POST {api_base_url}/{instagram_account_id}/messages with the
// token in an Authorization: Bearer header. With Instagram Login set
// api_base_url to https://graph.instagram.com/v25.0; with a linked Facebook
// page the default Graph URL is used and page_id records that page.
//
// Instagram's row of the seed tables is plain text (MISSION.md §3), so rich
// content goes out as its rendered text even though the platform itself has
// quick replies and generic templates; an author's explicit
// instagram_direct override is sent verbatim.
package instagram

import (
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/channel/messenger"
)

// Type is the channel type identifier.
const Type = "instagram_direct"

// Setting names (credentials are messenger's: page_access_token,
// app_secret, verify_token).
const (
	SettingAccountID = "instagram_account_id"
	SettingPageID    = messenger.SettingPageID
)

// Flavor describes Instagram Direct for the messenger adapter.
func Flavor() messenger.Flavor {
	return messenger.Flavor{Type: Type, Name: "Instagram", Object: "instagram", AccountSetting: SettingAccountID,
		OptionalSettings: []string{SettingPageID}, VerifyTokenPrefix: "igvt_", NativeRendering: false,
		MaxText: 1000} // ≤ 1000 (unverified, CHANNELS.md §4)
}

// Adapter is the messenger adapter speaking to Instagram.
type Adapter struct {
	*messenger.Adapter
}

// New makes the Instagram Direct adapter.
func New(client *http.Client, now func() time.Time) *Adapter {
	return &Adapter{messenger.NewFlavor(Flavor(), client, now)}
}
