package script

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Event names: what made a script run.
const (
	EventCaseCreated = "case_created"
	EventMessage     = "message"
)

// Limits used when an Engine field is zero, and on what a script may be.
const (
	DefaultMaxSteps   = 100_000
	DefaultTimeout    = time.Second
	DefaultMaxActions = 50
	MaxSourceBytes    = 64 << 10
	maxLogLines       = 100
	maxLogLineBytes   = 1000
	maxCompileErrors  = 10
)

// Errors a failed run wraps (test with errors.Is on Result.Err). Any other
// failure is the script's own error (a bad action argument, a type error).
var (
	ErrStepLimit      = errors.New("step limit exceeded") // Engine.MaxSteps
	ErrTimeout        = errors.New("time limit exceeded") // Engine.Timeout
	ErrCancelled      = errors.New("run cancelled")       // the caller's context ended
	ErrTooManyActions = errors.New("too many actions")    // Engine.MaxActions
	ErrInternal       = errors.New("internal error")      // a panic, or a nil program or unknown event
)

// Engine compiles and runs scripts. Its zero value is usable: zero limits
// take the defaults, and without Bots hand_to_bot answers False. An Engine
// holds no state of its own and may be shared.
type Engine struct {
	MaxSteps   uint64        // Starlark steps per run (default 100,000)
	Timeout    time.Duration // wall time per run, bot calls included (default 1 s)
	MaxActions int           // actions per run, a bot's included (default 50)
	Bots       BotCaller     // answers hand_to_bot; nil = no bots
}

func (e *Engine) maxSteps() uint64 {
	if e.MaxSteps == 0 {
		return DefaultMaxSteps
	}
	return e.MaxSteps
}

func (e *Engine) timeout() time.Duration {
	if e.Timeout <= 0 {
		return DefaultTimeout
	}
	return e.Timeout
}

func (e *Engine) maxActions() int {
	if e.MaxActions <= 0 {
		return DefaultMaxActions
	}
	return e.MaxActions
}

// Program is a compiled script. It is immutable and may be run by many
// goroutines at once.
type Program struct {
	name string
	prog *starlark.Program
}

// Name is the name the program was compiled under (used in error
// positions).
func (p *Program) Name() string { return p.name }

// ValidationError says why a script cannot be saved: Field is "source" or
// "name"; for source errors Reason starts with "line L:C:". The HTTP layer
// maps it to 400 (it has FieldName and FieldReason for that).
type ValidationError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (e *ValidationError) Error() string       { return e.Field + ": " + e.Reason }
func (e *ValidationError) FieldName() string   { return e.Field }
func (e *ValidationError) FieldReason() string { return e.Reason }

// Error is a failed run: where in the script it stopped and why.
type Error struct {
	Script    string // the program's name
	Line, Col int    // 0 when the failure has no position (a panic)
	Msg       string
	Backtrace string // Starlark's traceback, for logs
	cause     error
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.Script + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.Script, e.Line, e.Col, e.Msg)
}

// Unwrap exposes ErrStepLimit, ErrTimeout, ErrCancelled, ErrTooManyActions
// or ErrInternal, or the underlying Starlark error.
func (e *Error) Unwrap() error { return e.cause }

// fileOptions is the dialect scripts are written in. while is allowed so
// that the step limit, not the grammar, is what stops a runaway script;
// top-level control flow and reassignment because a script is its top
// level. Recursion stays off.
func fileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, While: true, TopLevelControl: true, GlobalReassign: true}
}

// isPredeclared lists the names every run defines (see predeclared).
func isPredeclared(name string) bool {
	switch name {
	case "event", "message", "contact", "case", "channel",
		"now", "in_business_hours", "next_open",
		"set_skill", "set_priority", "add_tag", "remove_tag", "set_field",
		"reply", "reply_quick_replies", "set_status", "route_to_agent",
		"hand_to_bot", "stop", "log":
		return true
	}
	return false
}

// Compile parses and resolves a script. Errors are a *ValidationError on
// "source" whose Reason lists each problem as "line L:C: message".
func (e *Engine) Compile(name, source string) (*Program, error) {
	if len(source) > MaxSourceBytes {
		return nil, &ValidationError{"source", fmt.Sprintf("at most %d bytes", MaxSourceBytes)}
	}
	if !utf8.ValidString(source) {
		return nil, &ValidationError{"source", "not valid UTF-8"}
	}
	_, prog, err := starlark.SourceProgramOptions(fileOptions(), name, source, isPredeclared)
	if err != nil {
		return nil, &ValidationError{"source", compileReason(err)}
	}
	if prog.NumLoads() > 0 {
		_, pos := prog.Load(0)
		return nil, &ValidationError{"source", fmt.Sprintf("line %d:%d: load() is not available in scripts", pos.Line, pos.Col)}
	}
	return &Program{name: name, prog: prog}, nil
}

func compileReason(err error) string {
	var se syntax.Error
	var list resolve.ErrorList
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("line %d:%d: %s", se.Pos.Line, se.Pos.Col, se.Msg)
	case errors.As(err, &list) && len(list) > 0:
		parts := make([]string, 0, min(len(list), maxCompileErrors))
		for i, e := range list {
			if i == maxCompileErrors {
				parts = append(parts, fmt.Sprintf("and %d more", len(list)-i))
				break
			}
			parts = append(parts, fmt.Sprintf("line %d:%d: %s", e.Pos.Line, e.Pos.Col, e.Msg))
		}
		return strings.Join(parts, "; ")
	}
	return err.Error()
}

// Result is what a run asked for. On failure Err is set and Actions is
// empty; Logs holds what was logged until then either way.
type Result struct {
	Actions  []Action
	Logs     []string
	Steps    uint64        // Starlark steps executed
	Duration time.Duration // wall time of the run
	Err      error         // nil, or a *Error
}

// How a run was cancelled from outside the interpreter (cancelKind).
const (
	notCancelled int32 = iota
	cancelledByStepLimit
	cancelledByTimeout
	cancelledByCaller
)

// Run executes p for one event. It never panics and never blocks past the
// engine's timeout by more than what a builtin in progress needs to notice.
func (e *Engine) Run(ctx context.Context, p *Program, in Input) (res Result) {
	started := time.Now()
	r := &run{engine: e, in: &in, maxActions: e.maxActions()}
	name := "script"
	if p != nil {
		name = p.name
	}
	defer func() {
		if v := recover(); v != nil {
			res = Result{Logs: r.finishLogs(), Err: &Error{Script: name, Msg: fmt.Sprintf("internal error: %v", v), cause: ErrInternal}}
		}
		res.Duration = time.Since(started)
	}()
	if p == nil {
		return Result{Err: &Error{Script: name, Msg: "no program", cause: ErrInternal}}
	}
	if in.Event != EventCaseCreated && in.Event != EventMessage {
		return Result{Err: &Error{Script: name, Msg: fmt.Sprintf("unknown event %q", in.Event), cause: ErrInternal}}
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	if err := ctx.Err(); err != nil {
		return Result{Err: &Error{Script: name, Msg: "cancelled before it started", cause: ErrCancelled}}
	}

	limit := e.timeout()
	ctx, cancel := context.WithTimeoutCause(ctx, limit, ErrTimeout)
	defer cancel()
	r.ctx = ctx

	thread := &starlark.Thread{Name: name, Print: func(_ *starlark.Thread, msg string) { r.log(msg) }}
	thread.SetMaxExecutionSteps(e.maxSteps())
	var cancelKind atomic.Int32
	thread.OnMaxSteps = func(th *starlark.Thread) {
		cancelKind.CompareAndSwap(notCancelled, cancelledByStepLimit)
		th.Cancel("step limit")
	}
	stopWatching := context.AfterFunc(ctx, func() {
		kind := cancelledByCaller // including a deadline of the caller's own
		if errors.Is(context.Cause(ctx), ErrTimeout) {
			kind = cancelledByTimeout
		}
		cancelKind.CompareAndSwap(notCancelled, kind)
		thread.Cancel("time limit")
	})
	defer stopWatching()

	predeclared, err := r.predeclared()
	if err != nil {
		return Result{Err: &Error{Script: name, Msg: err.Error(), cause: err}}
	}
	_, err = p.prog.Init(thread, predeclared)
	res = Result{Steps: thread.ExecutionSteps()}
	if err != nil && !r.stopped {
		res.Logs = r.finishLogs()
		res.Err = runError(name, err, cancelKind.Load(), e.maxSteps(), limit)
		return res
	}
	res.Actions, res.Logs = r.actions, r.finishLogs()
	return res
}

// runError turns what Init returned into an *Error positioned at the
// innermost script line.
func runError(name string, err error, cancelled int32, maxSteps uint64, limit time.Duration) *Error {
	out := &Error{Script: name, Msg: err.Error(), cause: err}
	var ee *starlark.EvalError
	if errors.As(err, &ee) {
		out.Msg, out.Backtrace = ee.Msg, ee.Backtrace()
		for i := len(ee.CallStack) - 1; i >= 0; i-- {
			pos := ee.CallStack[i].Pos
			if pos.Filename() != "<builtin>" && pos.Line > 0 {
				out.Line, out.Col = int(pos.Line), int(pos.Col)
				break
			}
		}
	}
	// The interpreter reports a cancellation as such; any other error was
	// the script's own, even if a limit happened to expire at that moment.
	if ee == nil || !strings.HasPrefix(ee.Msg, "Starlark computation cancelled") {
		cancelled = notCancelled
	}
	switch cancelled {
	case cancelledByStepLimit:
		out.Msg = fmt.Sprintf("step limit of %d exceeded (a loop that never ends?)", maxSteps)
		out.cause = ErrStepLimit
	case cancelledByTimeout:
		out.Msg = fmt.Sprintf("time limit of %v exceeded", limit)
		out.cause = ErrTimeout
	case cancelledByCaller:
		out.Msg = "run cancelled"
		out.cause = ErrCancelled
	default:
		if errors.Is(err, ErrTooManyActions) {
			out.cause = ErrTooManyActions
		}
	}
	return out
}
