// Package script runs the default scripts of points of contact: small
// Starlark programs (go.starlark.net) that run when a case is created and on
// every inbound message, look at the message, contact, case and channel, and
// decide what happens — the skill and priority the case gets, its tags and
// fields, an automatic reply, a status, a routing to an agent or a hand-off
// to a bot.
//
// The engine is pure: Run returns the actions a script asked for and
// changes nothing. The caller applies them, in order, inside the inbox. A
// run is all-or-nothing: when it fails (a script error, a bad action
// argument, the step or time limit) Result.Err is set and Result.Actions is
// empty, so a half-run script never half-applies.
//
// A Program is compiled once (Engine.Compile, which also reports syntax and
// name errors with line:column when a script is saved) and run any number
// of times concurrently: each Run has its own Starlark thread and globals.
// Store keeps scripts, every version of them, and a cache of compiled
// programs keyed by (script id, version).
//
// # The script language
//
// A script is Starlark — a small, deterministic dialect of Python — run from
// top to bottom on every event. if/for/while may be used at top level, and
// globals may be reassigned. There is no load(), no recursion, no I/O, no
// clock other than now(), and no randomness. A run is limited to
// Engine.MaxSteps Starlark steps (default 100,000), Engine.Timeout of wall
// time (default 1 s) and Engine.MaxActions actions (default 50).
//
// Read-only values (structs; their lists and dicts are frozen):
//
//	event    "case_created" or "message"
//	message  None when the event has no message, else
//	         .id .text .content_type .attachments (a count)
//	         .choice_option_ids (the option ids the customer picked in
//	         answer to a rich prompt, [] otherwise)
//	contact  .id .name .email .phone .fields (dict)
//	         .identities (list of struct: .channel .address)
//	case     .id .status .skill .subject .assignee .priority .tags (list)
//	         .fields (dict) .new (True when the case was created by this
//	         event)
//	channel  .type ("whatsapp", "chat", …) .point_of_contact_id .name
//
// Functions that read:
//
//	now()                the run's time, as a struct in the point of
//	                     contact's business-hours zone (UTC without one):
//	                     .unix .year .month .day .hour .minute .second
//	                     .weekday ("mon".."sun") .date ("2026-03-30")
//	                     .time ("09:05") .timezone
//	in_business_hours()  True when the point of contact is open now (always
//	                     True without business hours)
//	next_open()          when it opens next, as now() (now() when open)
//
// Actions (each argument is checked when called; a bad one stops the run
// with an error naming the script line):
//
//	set_skill(name)               route to the skill with this name
//	set_priority(n)               0–100, higher is more urgent
//	add_tag(tag), remove_tag(tag) 1–64 characters, no commas; lower-cased
//	set_field(name, value)        a case custom field; value is None (clears
//	                              it), a bool, number, string, or a list or
//	                              dict of those; name [A-Za-z0-9_.:-]{1,64}
//	reply(text)                   send a text reply
//	reply(content={...})          send canonical rich content (the dict form
//	                              of content.Content, validated)
//	reply_quick_replies(text, options)
//	                              a quick-replies message; options (1–10)
//	                              are labels or (id, label) pairs; an id
//	                              made from a label is its lower-case
//	                              letters and digits joined by "_"
//	set_status(s)                 open, pending, escalated, resolved,
//	                              closed or trashed
//	route_to_agent(who)           an agent's email or user id
//	hand_to_bot(name)             ask the bot now and append a hand_to_bot
//	                              action and the bot's answer: a list of the
//	                              same actions, which may include hand_back
//	                              (the bot gives the conversation back to
//	                              people) and stop (which ends the script).
//	                              The bot gets the run's time left minus a
//	                              tenth of Engine.Timeout. Returns True, or
//	                              False when the bot failed, timed out or
//	                              answered something invalid (the reason is
//	                              logged and none of its actions are kept),
//	                              so a script can fall back to a skill.
//	stop("close"|"trash")         close or trash the case and end the script
//	                              at once (the run succeeds)
//	log(...)                      record a line in Result.Logs (print does
//	                              the same)
//
// Example:
//
//	if event == "message" and "invoice" in message.text.lower():
//	    set_skill("billing")
//	    if not in_business_hours():
//	        reply_quick_replies("We are closed. What do you need?",
//	                            ["Pay an invoice", ("agent", "Talk to someone")])
//
// docs/scripts.md is the same reference for administrators.
package script
