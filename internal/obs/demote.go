package obs

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
)

// Demote returns a handler that writes the records logged from functions
// of the named packages (import-path prefixes) at Debug when they were
// below Error: libraries that log every client's error at Warn (an OAuth
// library does, through the default logger) would otherwise let anyone
// fill the log by sending bad requests. Their errors stay errors.
func Demote(h slog.Handler, prefixes ...string) slog.Handler {
	return &demoter{h: h, prefixes: prefixes}
}

type demoter struct {
	h        slog.Handler
	prefixes []string
}

// Enabled lets every level through to Handle, which decides once it knows
// the caller.
func (d *demoter) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, l) || d.h.Enabled(ctx, slog.LevelDebug)
}

func (d *demoter) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelError && r.PC != 0 && d.fromLibrary(r.PC) {
		r.Level = slog.LevelDebug
	}
	if !d.h.Enabled(ctx, r.Level) {
		return nil
	}
	return d.h.Handle(ctx, r)
}

func (d *demoter) fromLibrary(pc uintptr) bool {
	f, _ := runtime.CallersFrames([]uintptr{pc}).Next()
	for _, p := range d.prefixes {
		if strings.HasPrefix(f.Function, p) {
			return true
		}
	}
	return false
}

func (d *demoter) WithAttrs(as []slog.Attr) slog.Handler {
	return &demoter{h: d.h.WithAttrs(as), prefixes: d.prefixes}
}

func (d *demoter) WithGroup(name string) slog.Handler {
	return &demoter{h: d.h.WithGroup(name), prefixes: d.prefixes}
}
