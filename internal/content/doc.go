// Package content is Parley's canonical rich content: one model for every
// message (text, HTML, Markdown, quick replies, list and time pickers, forms,
// rich links, cards, carousels, adaptive cards, files and locations), the two
// support tables of the reference product (what each channel can send, what a
// human agent may send), the rendering ladder that turns canonical content
// into the richest payload a channel and recipient can show, and the reply
// mapping that turns whatever the customer answered (a tapped button, a typed
// "2", "the second one", a form answered one question at a time) back into
// one structured Choice.
//
// Why one package: every channel adapter, the API, bots and the agent
// workspace must agree on what a message is and what the customer saw. The
// rule the package enforces is that every rich message degrades into text
// that still works, and every answer comes back the same way however it was
// typed.
//
// The package is pure: no I/O, no clock (callers pass the time), no globals
// with mutable state. Fetching rich-link previews, which does network I/O, is
// in the linkpreview subpackage.
//
// Typical use by a channel adapter:
//
//	if err := c.Validate(); err != nil { /* 400, err names the field */ }
//	r, err := content.Render(channelType, c, content.RenderOptions{MessageID: id, Now: now})
//	// send r.Native (or r.Text when Native is nil); store c and r on the message;
//	// if r.Prompt != nil store it as the thread's pending prompt.
//
// and on every inbound message of that thread:
//
//	out := content.Resolve(pending, content.Reply{Text: body, NativeID: id}, now)
package content
