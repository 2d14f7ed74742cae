package script

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"go.starlark.net/starlark"

	"github.com/parleyhq/parley/internal/content"
	"github.com/parleyhq/parley/internal/hours"
)

// errStop unwinds the interpreter when a script (or its bot) calls stop:
// Starlark has no other way to end a program early. Run recognises it by
// run.stopped and reports success.
var errStop = errors.New("stopped")

// run is the state of one Run: what the builtins read and collect.
type run struct {
	engine     *Engine
	ctx        context.Context
	in         *Input
	maxActions int

	actions     []Action
	logs        []string
	droppedLogs int
	stopped     bool

	calendar *hours.Calendar // compiled on first use
}

type builtinFunc = func(*starlark.Thread, *starlark.Builtin, starlark.Tuple, []starlark.Tuple) (starlark.Value, error)

// builtins are the functions of the script language, bound to this run.
// Keep isPredeclared in step.
func (r *run) builtins() map[string]builtinFunc {
	return map[string]builtinFunc{
		"now":                 r.now,
		"in_business_hours":   r.inBusinessHours,
		"next_open":           r.nextOpen,
		"set_skill":           r.setSkill,
		"set_priority":        r.setPriority,
		"add_tag":             r.tag(ActionAddTag),
		"remove_tag":          r.tag(ActionRemoveTag),
		"set_field":           r.setField,
		"reply":               r.reply,
		"reply_quick_replies": r.replyQuickReplies,
		"set_status":          r.setStatus,
		"route_to_agent":      r.routeToAgent,
		"hand_to_bot":         r.handToBot,
		"stop":                r.stop,
		"log":                 r.logBuiltin,
	}
}

// add checks an action and records it; a bad one is the script's error,
// named after the builtin (the interpreter adds the line).
func (r *run) add(fn string, a Action) error {
	a, err := a.Normalize()
	if err != nil {
		return fmt.Errorf("%s: %v", fn, err)
	}
	if len(r.actions) >= r.maxActions {
		return fmt.Errorf("%s: %w (at most %d per run)", fn, ErrTooManyActions, r.maxActions)
	}
	r.actions = append(r.actions, a)
	return nil
}

func (r *run) log(msg string) {
	if len(r.logs) >= maxLogLines {
		r.droppedLogs++
		return
	}
	if len(msg) > maxLogLineBytes {
		cut := maxLogLineBytes
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	r.logs = append(r.logs, msg)
}

func (r *run) finishLogs() []string {
	if r.droppedLogs > 0 {
		r.logs = append(r.logs, fmt.Sprintf("(%d more log lines dropped)", r.droppedLogs))
		r.droppedLogs = 0
	}
	return r.logs
}

func (r *run) hoursCalendar() *hours.Calendar {
	switch {
	case r.calendar != nil:
	case r.in.Calendar != nil:
		r.calendar = r.in.Calendar
	case r.in.Hours != nil:
		r.calendar = r.in.Hours.Calendar()
	}
	return r.calendar
}

// timeValue shows t in the business-hours zone (UTC without one).
func (r *run) timeValue(t time.Time) starlark.Value {
	loc := time.UTC
	if c := r.hoursCalendar(); c != nil {
		loc = c.Location()
	}
	lt := t.In(loc)
	return record("time", starlark.StringDict{
		"unix":     starlark.MakeInt64(lt.Unix()),
		"year":     starlark.MakeInt(lt.Year()),
		"month":    starlark.MakeInt(int(lt.Month())),
		"day":      starlark.MakeInt(lt.Day()),
		"hour":     starlark.MakeInt(lt.Hour()),
		"minute":   starlark.MakeInt(lt.Minute()),
		"second":   starlark.MakeInt(lt.Second()),
		"weekday":  starlark.String(hours.WeekdayKey(lt.Weekday())),
		"date":     starlark.String(lt.Format(time.DateOnly)),
		"time":     starlark.String(lt.Format("15:04")),
		"timezone": starlark.String(loc.String()),
	})
}

func (r *run) now(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	return r.timeValue(r.in.Now), nil
}

func (r *run) inBusinessHours(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	c := r.hoursCalendar()
	return starlark.Bool(c == nil || c.Open(r.in.Now)), nil
}

func (r *run) nextOpen(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackArgs(b.Name(), args, kwargs); err != nil {
		return nil, err
	}
	c := r.hoursCalendar()
	if c == nil {
		return r.timeValue(r.in.Now), nil
	}
	next := c.NextOpen(r.in.Now)
	if next.IsZero() {
		return starlark.None, nil
	}
	return r.timeValue(next), nil
}

func (r *run) setSkill(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name); err != nil {
		return nil, err
	}
	return starlark.None, r.add(b.Name(), Action{Type: ActionSetSkill, Skill: name})
}

func (r *run) setPriority(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var n starlark.Int
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "n", &n); err != nil {
		return nil, err
	}
	p, ok := n.Int64()
	if !ok || p < MinPriority || p > MaxPriority {
		return nil, fmt.Errorf("%s: priority must be between %d and %d, not %s", b.Name(), MinPriority, MaxPriority, n)
	}
	return starlark.None, r.add(b.Name(), Action{Type: ActionSetPriority, Priority: int(p)})
}

func (r *run) tag(typ string) builtinFunc {
	return func(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var tag string
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "tag", &tag); err != nil {
			return nil, err
		}
		return starlark.None, r.add(b.Name(), Action{Type: typ, Tag: tag})
	}
}

func (r *run) setField(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var name string
	var value starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "value", &value); err != nil {
		return nil, err
	}
	v, err := fromStarlark(value, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	return starlark.None, r.add(b.Name(), Action{Type: ActionSetField, Field: name, Value: v})
}

func (r *run) reply(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text, rich starlark.Value = starlark.None, starlark.None
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text?", &text, "content?", &rich); err != nil {
		return nil, err
	}
	switch {
	case text != starlark.None && rich != starlark.None:
		return nil, fmt.Errorf("%s: give a text or a content, not both", b.Name())
	case rich != starlark.None:
		if _, ok := rich.(*starlark.Dict); !ok {
			return nil, fmt.Errorf("%s: content must be a dict, not %s", b.Name(), rich.Type())
		}
		v, err := fromStarlark(rich, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: content: %v", b.Name(), err)
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: content: %v", b.Name(), err)
		}
		return starlark.None, r.add(b.Name(), Action{Type: ActionReply, Content: raw})
	case text != starlark.None:
		s, ok := starlark.AsString(text)
		if !ok {
			return nil, fmt.Errorf("%s: text must be a string, not %s", b.Name(), text.Type())
		}
		return starlark.None, r.add(b.Name(), Action{Type: ActionReply, Text: s})
	}
	return nil, fmt.Errorf("%s: give a text or content={...}", b.Name())
}

// replyQuickReplies builds canonical quick_replies content from labels and
// (id, label) pairs.
func (r *run) replyQuickReplies(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var text string
	var options starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "text", &text, "options", &options); err != nil {
		return nil, err
	}
	items, ok := sequence(options)
	if !ok {
		return nil, fmt.Errorf("%s: options must be a list, not %s", b.Name(), options.Type())
	}
	if len(items) == 0 || len(items) > content.MaxQuickReplies {
		return nil, fmt.Errorf("%s: give 1 to %d options, not %d", b.Name(), content.MaxQuickReplies, len(items))
	}
	opts := make([]content.Option, len(items))
	used := map[string]bool{}
	for i, item := range items {
		if label, ok := starlark.AsString(item); ok {
			opts[i].Label = label
			continue
		}
		pair, ok := sequence(item)
		if !ok || len(pair) != 2 {
			return nil, fmt.Errorf("%s: options[%d] must be a label or an (id, label) pair, not %s", b.Name(), i, item.String())
		}
		id, okID := starlark.AsString(pair[0])
		label, okLabel := starlark.AsString(pair[1])
		if !okID || !okLabel {
			return nil, fmt.Errorf("%s: options[%d]: id and label must be strings", b.Name(), i)
		}
		opts[i].ID, opts[i].Label = id, label
		used[id] = true
	}
	for i := range opts {
		if opts[i].ID == "" {
			opts[i].ID = optionID(opts[i].Label, i, used)
			used[opts[i].ID] = true
		}
	}
	raw, err := json.Marshal(content.Content{Type: content.TypeQuickReplies, Text: text, Options: opts})
	if err != nil {
		return nil, err
	}
	return starlark.None, r.add(b.Name(), Action{Type: ActionReply, Content: raw})
}

// sequence returns the elements of a list or tuple.
func sequence(v starlark.Value) ([]starlark.Value, bool) {
	switch x := v.(type) {
	case starlark.Tuple:
		return x, true
	case *starlark.List:
		out := make([]starlark.Value, x.Len())
		for i := range out {
			out[i] = x.Index(i)
		}
		return out, true
	}
	return nil, false
}

// optionID makes an option id from its label: lower-case ASCII letters and
// digits, other runs of characters as "_" ("Pay an invoice" → "pay_an_invoice").
// Labels with no such characters, or whose id is taken, get "option_N".
func optionID(label string, index int, used map[string]bool) string {
	var b strings.Builder
	gap := false
	for _, c := range strings.ToLower(label) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(c)
			gap = false
			if b.Len() >= 60 {
				break
			}
			continue
		}
		gap = true
	}
	id := b.String()
	if id == "" || used[id] {
		id = fmt.Sprintf("option_%d", index+1)
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("option_%d_%d", index+1, n)
		}
	}
	return id
}

func (r *run) setStatus(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var status string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "status", &status); err != nil {
		return nil, err
	}
	return starlark.None, r.add(b.Name(), Action{Type: ActionSetStatus, Status: status})
}

func (r *run) routeToAgent(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var agent string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "agent", &agent); err != nil {
		return nil, err
	}
	return starlark.None, r.add(b.Name(), Action{Type: ActionRouteToAgent, Agent: agent})
}

func (r *run) stop(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var how string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "how", &how); err != nil {
		return nil, err
	}
	if err := r.add(b.Name(), Action{Type: ActionStop, Stop: how}); err != nil {
		return nil, err
	}
	r.stopped = true
	return nil, errStop
}

func (r *run) logBuiltin(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(kwargs) > 0 {
		return nil, fmt.Errorf("%s: unexpected keyword argument %s", b.Name(), kwargs[0][0])
	}
	parts := make([]string, len(args))
	for i, a := range args {
		if s, ok := starlark.AsString(a); ok {
			parts[i] = s
		} else {
			parts[i] = a.String()
		}
	}
	r.log(strings.Join(parts, " "))
	return starlark.None, nil
}

// handToBot asks the bot synchronously and appends its answer. A bot that
// fails or answers something invalid makes it return False (logged), so
// the script can fall back; only a bad bot name is a script error.
func (r *run) handToBot(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var bot string
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &bot); err != nil {
		return nil, err
	}
	handOff, err := Action{Type: ActionHandToBot, Bot: bot}.Normalize()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", b.Name(), err)
	}
	if len(r.actions) >= r.maxActions {
		return nil, fmt.Errorf("%s: %w (at most %d per run)", b.Name(), ErrTooManyActions, r.maxActions)
	}
	failed := func(format string, args ...any) (starlark.Value, error) {
		r.log(fmt.Sprintf("hand_to_bot(%q): ", bot) + fmt.Sprintf(format, args...))
		return starlark.False, nil
	}
	if r.engine.Bots == nil {
		return failed("no bot service is configured")
	}
	// The bot gets the run's time left minus a tenth of the limit, so that
	// a bot that hangs still leaves the script time to fall back.
	reserve := r.engine.timeout() / 10
	deadline, ok := r.ctx.Deadline()
	if !ok || time.Until(deadline) <= reserve {
		return failed("no time left for a bot")
	}
	botCtx, cancel := context.WithDeadline(r.ctx, deadline.Add(-reserve))
	defer cancel()
	answer, err := r.engine.Bots.CallBot(botCtx, bot, BotRequest{
		Bot: bot, Event: r.in.Event, Message: r.in.Message, Contact: r.in.Contact, Case: r.in.Case, Channel: r.in.Channel,
	})
	if err != nil {
		return failed("%v", err)
	}
	var kept []Action
	stopped := false
	for i, a := range answer {
		if a.Type == ActionHandToBot {
			return failed("answer[%d]: a bot cannot hand to another bot", i)
		}
		n, err := a.Normalize()
		if err != nil {
			return failed("answer[%d] (%s): %v", i, a.Type, err)
		}
		kept = append(kept, n)
		if n.Type == ActionStop {
			stopped = true
			break // nothing runs after a stop
		}
	}
	if len(r.actions)+1+len(kept) > r.maxActions {
		return failed("answered %d actions, more than the run has left", len(kept))
	}
	r.actions = append(r.actions, handOff)
	r.actions = append(r.actions, kept...)
	if stopped {
		r.stopped = true
		return nil, errStop
	}
	return starlark.True, nil
}
